import { createOgcApiProvider } from './ogcapi/provider.ts';
import type { ProviderFactory, ProviderType } from './provider.ts';
import { createWpsProvider } from './wps/provider.ts';

/** How each provider type is built. */
export const PROVIDER_FACTORIES: Record<ProviderType, ProviderFactory> = {
  wps: createWpsProvider,
  'ogcapi-processes': createOgcApiProvider,
};
