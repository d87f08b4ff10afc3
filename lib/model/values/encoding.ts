import { Encoding as EncodingManifest, Rendition } from '../manifest';

/** One rung of an adaptive bitrate ladder. */
export interface LadderRung {
  /** Rendition name, used in folder names and playlists. @default - `<height>p` */
  readonly name?: string;
  /** Width in pixels (even). */
  readonly width: number;
  /** Height in pixels (even). */
  readonly height: number;
  /** Video bitrate in kbit/s. */
  readonly bitrateKbps: number;
  /** H.264 profile. @default 'high' (`'main'` below 540p, as common ladders do) */
  readonly profile?: 'baseline' | 'main' | 'high';
}

/** x264 speed presets livestack accepts: slower presets cannot keep up with live input on small machines. */
export type SpeedPreset = 'ultrafast' | 'superfast' | 'veryfast' | 'faster' | 'fast' | 'medium';

/** A ladder preset: the AMS-style defaults, or your own. */
export class EncodingPreset {
  /** 720p 3,000k, 540p 1,800k, 360p 800k; AAC 128k. */
  static default720p(): EncodingPreset {
    return new EncodingPreset('Default720p', [
      { width: 1280, height: 720, bitrateKbps: 3000 },
      { width: 960, height: 540, bitrateKbps: 1800 },
      { width: 640, height: 360, bitrateKbps: 800 },
    ], 128);
  }

  /** Default720p plus 1080p 5,500k; AAC 128k. */
  static default1080p(): EncodingPreset {
    return new EncodingPreset('Default1080p', [
      { width: 1920, height: 1080, bitrateKbps: 5500 },
      ...EncodingPreset.default720p().rungs,
    ], 128);
  }

  /** Your own ladder, highest rung first. */
  static custom(props: { readonly ladder: LadderRung[]; readonly audioBitrateKbps?: number }): EncodingPreset {
    return new EncodingPreset('Custom', props.ladder, props.audioBitrateKbps ?? 128);
  }

  private constructor(
    readonly name: 'Default720p' | 'Default1080p' | 'Custom',
    readonly rungs: readonly LadderRung[],
    readonly audioBitrateKbps: number,
  ) {}

  /** The ladder in manifest form (names and profiles filled in). */
  toLadder(): Rendition[] {
    return this.rungs.map((rung) => ({
      name: rung.name ?? `${rung.height}p`,
      width: rung.width,
      height: rung.height,
      videoBitrateKbps: rung.bitrateKbps,
      profile: rung.profile ?? (rung.height >= 540 ? 'high' : 'main'),
    }));
  }
}

/** How a channel processes its input. */
export class Encoding {
  /** Remux the encoder's stream as it is: no transcode, one rendition, lowest cost. */
  static passthrough(): Encoding { return new Encoding({ type: 'passthrough' }); }

  /**
   * Transcode to an adaptive ladder with key frames aligned across renditions.
   * @param preset @default EncodingPreset.default720p()
   * @param options.speedPreset x264 speed/quality trade-off. @default 'veryfast'
   */
  static standard(preset: EncodingPreset = EncodingPreset.default720p(), options: { readonly speedPreset?: SpeedPreset } = {}): Encoding {
    return new Encoding({
      type: 'standard',
      preset: preset.name,
      ladder: preset.toLadder(),
      audioBitrateKbps: preset.audioBitrateKbps,
      speedPreset: options.speedPreset ?? 'veryfast',
    });
  }

  private constructor(private readonly manifest: EncodingManifest) {}

  toManifest(): EncodingManifest { return this.manifest; }
}
