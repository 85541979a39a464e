import type * as Gdal from 'gdal-async';
import { applySandbox } from './sandbox.ts';

export type GdalModule = typeof Gdal;

let loaded: Promise<GdalModule> | undefined;

/**
 * gdal-async, loaded on first use with the sandbox configuration applied before anything is opened
 * (no network, no sibling files: see sandbox.ts). Only ever called inside the GDAL worker thread:
 * gdal-async loads in one thread per process, so importing it in the main thread would break the pool.
 */
export function loadGdal(): Promise<GdalModule> {
  loaded ??= import('gdal-async').then((m) => {
    const gdal = ((m as unknown as { default?: GdalModule }).default ?? m) as GdalModule;
    applySandbox(gdal);
    return gdal;
  });
  return loaded;
}
