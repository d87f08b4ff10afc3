/**
 * The host players and encoders are told to use, decided once for the constructs' URL getters,
 * topology's workload URLs and what the runtime prints: the first custom host name of an endpoint,
 * else the bind address (localhost when bound to every interface; IPv6 in brackets).
 */

/** Host part of a URL for a service bound to `bindAddress`, optionally known by `hostNames`. */
export function publicHost(bindAddress: string, hostNames: readonly string[] = []): string {
  if (hostNames.length > 0) return hostNames[0];
  if (bindAddress === '0.0.0.0' || bindAddress === '::') return 'localhost';
  return bindAddress.includes(':') ? `[${bindAddress}]` : bindAddress;
}

/** `rtmp://HOST:PORT/live`: what OBS calls the server; the stream key goes after it. */
export function rtmpIngestUrl(bindAddress: string, port: number): string {
  return `rtmp://${publicHost(bindAddress)}:${port}/live`;
}

/** Base of the key URIs an endpoint writes into playlists: the configured public URL, else the endpoint's host on the key port. */
export function keyDeliveryBaseUrl(bindAddress: string, keyPort: number, publicBaseUrl: string | undefined, hostNames: readonly string[] = []): string {
  return (publicBaseUrl ?? endpointBaseUrl(bindAddress, keyPort, hostNames)).replace(/\/+$/, '');
}

/** `http://HOST:PORT`: an endpoint's playback base URL. */
export function endpointBaseUrl(bindAddress: string, port: number, hostNames: readonly string[] = []): string {
  return `http://${publicHost(bindAddress, hostNames)}:${port}`;
}

/**
 * The stream id livestack prints for SRT encoders: MediaMTX's form, which needs no escaping in a URL.
 * The listener takes the SRT access control form `#!::r=<channel>,m=publish` as well.
 */
export function srtStreamId(channel: string): string {
  return `publish:${channel}`;
}

/** `srt://HOST:PORT?streamid=publish:<channel>`: what OBS and ffmpeg call; encoders add `&passphrase=<stream key>`. */
export function srtIngestUrl(bindAddress: string, port: number, channel: string): string {
  return `srt://${publicHost(bindAddress)}:${port}?streamid=${srtStreamId(channel)}`;
}
