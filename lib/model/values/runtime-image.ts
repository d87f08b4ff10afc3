import { version } from '../../../package.json';

/** The version every default image tag carries. */
export const LIVESTACK_VERSION: string = version;

/** Base of the runtime image when neither the app nor `LIVESTACK_BASE_IMAGE` names one. */
export const DEFAULT_BASE_IMAGE = 'node:20-bookworm-slim';

/** The image every workload of an account runs. */
export class RuntimeImage {
  /**
   * Build livestack's image from its Dockerfile (`images/Dockerfile`) on the Docker host. The base image
   * is part of the desired state: Terraform and the runtime's docker driver build on the same one, and
   * changing it rebuilds the image and replaces the containers on both paths.
   * @param options.baseImage a Debian-based Node 20 image @default - `$LIVESTACK_BASE_IMAGE` when set at synth time (e.g. a local base where no registry is reachable), else 'node:20-bookworm-slim'
   * @param options.name @default `livestack/runtime:<version>`
   */
  static build(options: { readonly baseImage?: string; readonly name?: string } = {}): RuntimeImage {
    return new RuntimeImage(options.name ?? `livestack/runtime:${LIVESTACK_VERSION}`, options.baseImage ?? (process.env.LIVESTACK_BASE_IMAGE || DEFAULT_BASE_IMAGE));
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
