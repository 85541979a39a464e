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

const MEMBER = { subject: 'one of its members expands', key: 'max_uncompressed_member_size' };
const TOTAL = { subject: 'its members expand', key: 'max_uncompressed_size' };

/** "one of its members expands to 64 MiB, more than the 3 MiB allowed (server.limits.…)"; the size when known. */
const tooLarge = (which: { subject: string; key: string }, limit: number, size?: number): ArchiveRefusal => ({
  tooLarge: true,
  reason: `${which.subject} to ${size === undefined ? '' : `${formatBytes(size)}, `}more than the ${formatBytes(limit)} allowed (server.limits.${which.key})`,
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
        return tooLarge(MEMBER, maxMember, entry.uncompressedSize);
      }
      declared += entry.uncompressedSize;
      if (declared > maxTotal) {
        return tooLarge(TOTAL, maxTotal, declared);
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
            return member > maxMember ? tooLarge(MEMBER, maxMember) : tooLarge(TOTAL, maxTotal);
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
