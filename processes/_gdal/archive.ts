/**
 * Zip archive inputs (zipped Shapefiles) are measured before GDAL reads them: a few hundred
 * kilobytes of DEFLATE can expand to gigabytes, and GDAL would read all of it. yauzl (a small,
 * well-kept zip reader with no native code) reads the central directory and inflates members as
 * streams, so the check costs little memory whatever the archive holds.
 */
import type { Readable } from 'node:stream';
import { openPromise, type Entry, type ZipFile } from 'yauzl';
import { formatBytes, type ResourceLimits } from '../../src/core/limits.ts';

export interface ArchiveRefusal {
  /** True when the archive is refused for its size (FileSizeExceeded), false when it is unreadable. */
  tooLarge: boolean;
  reason: string;
}

const tooLarge = (what: string, limit: number, key: string): ArchiveRefusal => ({
  tooLarge: true,
  reason: `${what} more than the ${formatBytes(limit)} allowed (server.limits.${key})`,
});

/**
 * Why an archive is refused for what it expands to, or undefined when it fits: first the sizes the
 * central directory declares (nothing is inflated when they are over the limits), then what every
 * member really inflates to, since a directory can understate it (inflated data is counted and
 * dropped, and inflation stops at the limit or at the declared size, whichever comes first).
 */
export async function archiveSizeRefusal(
  file: string,
  limits: Pick<ResourceLimits, 'maxUncompressedSize' | 'maxUncompressedMemberSize'>,
  signal: AbortSignal,
): Promise<ArchiveRefusal | undefined> {
  const { maxUncompressedSize: maxTotal, maxUncompressedMemberSize: maxMember } = limits;
  let zip: ZipFile;
  try {
    // Names stay raw bytes: they are not used here, and their checks are the caller's.
    zip = await openPromise(file, { decodeStrings: false, validateEntrySizes: true, autoClose: false });
  } catch (e) {
    return { tooLarge: false, reason: `it is not a readable zip archive: ${(e as Error).message}` };
  }
  try {
    const entries: Entry[] = [];
    let declared = 0;
    for await (const entry of zip.eachEntry()) {
      if (entry.uncompressedSize > maxMember) {
        return tooLarge(
          `one of its members expands to ${formatBytes(entry.uncompressedSize)},`,
          maxMember,
          'max_uncompressed_member_size',
        );
      }
      declared += entry.uncompressedSize;
      if (declared > maxTotal) {
        return tooLarge(
          `its members expand to ${formatBytes(declared)} or`,
          maxTotal,
          'max_uncompressed_size',
        );
      }
      entries.push(entry);
    }
    let total = 0;
    for (const entry of entries) {
      signal.throwIfAborted();
      if (entry.isEncrypted()) return { tooLarge: false, reason: 'it has an encrypted member' };
      let stream: Readable;
      try {
        stream = await zip.openReadStreamPromise(entry);
      } catch (e) {
        return { tooLarge: false, reason: `a member cannot be read: ${(e as Error).message}` };
      }
      let member = 0;
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          member += chunk.length;
          total += chunk.length;
          if (member > maxMember || total > maxTotal) {
            stream.destroy();
            return member > maxMember
              ? tooLarge('one of its members expands to', maxMember, 'max_uncompressed_member_size')
              : tooLarge('its members expand to', maxTotal, 'max_uncompressed_size');
          }
        }
      } catch (e) {
        // yauzl stops a member that inflates past its declared size (or is corrupt).
        return {
          tooLarge: false,
          reason: `a member does not inflate as the archive's directory says: ${(e as Error).message}`,
        };
      }
    }
    return undefined;
  } finally {
    zip.close();
  }
}
