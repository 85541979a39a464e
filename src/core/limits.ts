/**
 * How much a job may expand, read, write and keep (configuration `server.limits.*`, INI `[server]`).
 * They bound what a small request can cost: archives that inflate, rasters whose few compressed
 * bytes describe billions of pixels, outputs that fill the disk. Sizes are bytes.
 */
export interface ResourceLimits {
  /** Uncompressed bytes of all members of an archive input together (a zipped Shapefile). */
  maxUncompressedSize: number;
  /** Uncompressed bytes of any one member of an archive input. */
  maxUncompressedMemberSize: number;
  /** Columns of a raster read or written. */
  maxRasterWidth: number;
  /** Rows of a raster read or written. */
  maxRasterHeight: number;
  /** Columns × rows of a raster read or written. */
  maxRasterPixels: number;
  /** Columns × rows × bands × bytes per sample: the raster's size once decoded. */
  maxRasterBytes: number;
  /** Bytes of one stored output. */
  maxOutputSize: number;
  /** Bytes of all stored outputs of one job together. */
  maxJobOutputSize: number;
  /** Bytes of a complex output that can be returned inside a response document; larger ones by reference only. */
  maxInlineOutputSize: number;
  /**
   * Bytes of the job folders together (outputs and work files); 0 = no quota. Finished jobs are
   * removed, oldest first, to stay under it; a job that still does not fit fails with NotEnoughStorage.
   */
  maxStorageSize: number;
}

const MIB = 1024 * 1024;

/** Safe defaults: generous for real data, far below what would take the server down. */
export const DEFAULT_LIMITS: Readonly<ResourceLimits> = {
  maxUncompressedSize: 64 * MIB,
  maxUncompressedMemberSize: 64 * MIB,
  maxRasterWidth: 65_536,
  maxRasterHeight: 65_536,
  maxRasterPixels: 268_435_456, // 16384 × 16384
  maxRasterBytes: 512 * MIB,
  maxOutputSize: 512 * MIB,
  maxJobOutputSize: 1024 * MIB,
  maxInlineOutputSize: 16 * MIB,
  maxStorageSize: 10_240 * MIB,
};

/** The configuration key of each limit (YAML `server.limits.<key>`), for messages that tell the operator what to change. */
export const LIMIT_KEYS: Readonly<Record<keyof ResourceLimits, string>> = {
  maxUncompressedSize: 'max_uncompressed_size',
  maxUncompressedMemberSize: 'max_uncompressed_member_size',
  maxRasterWidth: 'max_raster_width',
  maxRasterHeight: 'max_raster_height',
  maxRasterPixels: 'max_raster_pixels',
  maxRasterBytes: 'max_raster_bytes',
  maxOutputSize: 'max_output_size',
  maxJobOutputSize: 'max_job_output_size',
  maxInlineOutputSize: 'max_inline_output_size',
  maxStorageSize: 'max_storage_size',
};

/** A byte count for people: `859 MiB`, `47 KiB`, `12 bytes`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 || value >= 100 ? Math.round(value) : Math.round(value * 10) / 10;
  return `${shown} ${units[unit]!}`;
}
