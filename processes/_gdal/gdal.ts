import type * as Gdal from 'gdal-async';

export type GdalModule = typeof Gdal;

let loaded: Promise<GdalModule> | undefined;

/**
 * gdal-async, loaded on first use. Only ever called inside the GDAL worker thread: gdal-async loads
 * in one thread per process, so importing it in the main thread would break the pool.
 */
export function loadGdal(): Promise<GdalModule> {
  loaded ??= import('gdal-async').then(
    (m) => ((m as unknown as { default?: GdalModule }).default ?? m) as GdalModule,
  );
  return loaded;
}
