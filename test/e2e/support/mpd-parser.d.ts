/** The part of mpd-parser (videojs, no bundled types) the DASH tests read. */
declare module 'mpd-parser' {
  export interface ParsedSegment {
    readonly uri: string;
    readonly resolvedUri: string;
    readonly duration: number;
    readonly map?: { readonly uri: string; readonly resolvedUri: string };
  }
  export interface ParsedPlaylist {
    readonly attributes: {
      readonly NAME: string;
      readonly BANDWIDTH: number;
      readonly CODECS: string;
      readonly RESOLUTION?: { readonly width: number; readonly height: number };
    };
    readonly endList: boolean;
    readonly segments: readonly ParsedSegment[];
  }
  export interface ParsedManifest {
    readonly playlists: readonly ParsedPlaylist[];
    readonly mediaGroups: { readonly AUDIO: Record<string, Record<string, { readonly playlists: readonly ParsedPlaylist[] }>> };
    readonly duration: number;
    readonly minimumUpdatePeriod?: number;
  }
  export function parse(manifest: string, options?: { manifestUri?: string; NOW?: number; clientOffset?: number }): ParsedManifest;
}
