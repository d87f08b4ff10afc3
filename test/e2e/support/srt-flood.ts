/**
 * What an SRT listener on the internet sees besides its encoder: UDP peers that send noise and stay,
 * and callers that start a handshake and never finish it (an INDUCTION request, answered with a SYN
 * cookie, never followed by the CONCLUSION). Each peer is its own UDP socket, so the listener sees
 * distinct addresses (ports) on loopback. Packets follow the SRT handshake of draft-sharabayko-srt
 * §3.2.1 / §4.3.1.
 */
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';

export interface FloodOptions {
  readonly port: number;
  /** Peers that send a few random bytes every `everyMs`. */
  readonly idlePeers: number;
  /** Peers that send an INDUCTION handshake every `everyMs` (as a caller retries) and never conclude. */
  readonly halfOpenPeers: number;
  /** @default 250 (libsrt's handshake retry period) */
  readonly everyMs?: number;
}

export interface Flood {
  /** INDUCTION responses (version 5, SRT magic 0x4A17) received: the listener did answer them. */
  inductionAnswers(): number;
  sent(): number;
  stop(): Promise<void>;
}

/** A caller's INDUCTION request: version 4, extension field 2 (UDT DGRAM), handshake type 1, no cookie. */
export function inductionRequest(socketId: number): Buffer {
  const packet = Buffer.alloc(64);
  packet.writeUInt32BE(0x80000000, 0); // control packet, type 0: handshake
  packet.writeUInt32BE(4, 16); // version
  packet.writeUInt16BE(0, 20); // encryption field
  packet.writeUInt16BE(2, 22); // extension field
  packet.writeUInt32BE(randomBytes(4).readUInt32BE(0) & 0x7fffffff, 24); // initial sequence number
  packet.writeUInt32BE(1500, 28); // MTU
  packet.writeUInt32BE(8192, 32); // flow window
  packet.writeUInt32BE(1, 36); // handshake type: INDUCTION
  packet.writeUInt32BE(socketId, 40);
  packet.writeUInt32BE(0, 44); // SYN cookie
  Buffer.from([127, 0, 0, 1]).copy(packet, 48); // peer IP
  return packet;
}

function isInductionAnswer(packet: Buffer): boolean {
  return packet.length >= 64 && packet.readUInt32BE(0) === 0x80000000 && packet.readUInt32BE(16) === 5
    && packet.readUInt16BE(22) === 0x4a17 && packet.readUInt32BE(36) === 1;
}

export async function startFlood(options: FloodOptions): Promise<Flood> {
  const sockets: dgram.Socket[] = [];
  let answers = 0;
  let sent = 0;
  const open = async (onTick: (socket: dgram.Socket) => void): Promise<void> => {
    const socket = dgram.createSocket('udp4');
    socket.on('error', () => undefined);
    socket.on('message', (message) => {
      if (isInductionAnswer(message)) answers++;
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    sockets.push(socket);
    onTick(socket);
  };
  const ticks: ((socket: dgram.Socket) => void)[] = [];
  const send = (socket: dgram.Socket, packet: Buffer) => {
    sent++;
    socket.send(packet, options.port, '127.0.0.1');
  };
  for (let i = 0; i < options.idlePeers; i++) await open((socket) => ticks.push(() => send(socket, randomBytes(32))));
  for (let i = 0; i < options.halfOpenPeers; i++) {
    const socketId = 0x10000000 + i;
    await open((socket) => ticks.push(() => send(socket, inductionRequest(socketId))));
  }
  const fire = () => sockets.forEach((socket, index) => ticks[index](socket));
  fire();
  const timer = setInterval(fire, options.everyMs ?? 250);
  return {
    inductionAnswers: () => answers,
    sent: () => sent,
    stop: async () => {
      clearInterval(timer);
      await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}
