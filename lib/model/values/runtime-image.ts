import { version } from '../../../package.json';

/** The version every default image tag carries. */
export const LIVESTACK_VERSION: string = version;

/** The image every workload of an account runs. */
export class RuntimeImage {
  /**
   * Build livestack's image from its Dockerfile (`images/Dockerfile`) on the Docker host.
   * @param options.baseImage @default 'node:20-bookworm-slim'
   * @param options.name @default `livestack/runtime:<version>`
   */
  static build(options: { readonly baseImage?: string; readonly name?: string } = {}): RuntimeImage {
    return new RuntimeImage(options.name ?? `livestack/runtime:${LIVESTACK_VERSION}`, options.baseImage ?? 'node:20-bookworm-slim');
  }

  /** Use an image that already exists on the host or in a registry (no build). */
  static fromName(name: string): RuntimeImage { return new RuntimeImage(name, undefined); }

  private constructor(
    /** Image reference the containers run. */
    readonly name: string,
    /** Base image of the build; undefined when the image is used as it is. */
    readonly baseImage: string | undefined,
  ) {}
}
