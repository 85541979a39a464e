import type { ProviderFactory, ProviderType } from './provider.ts';
import { createWpsProvider } from './wps/provider.ts';

/** How each provider type is built. */
export const PROVIDER_FACTORIES: Record<ProviderType, ProviderFactory> = {
  wps: createWpsProvider,
  'ogcapi-processes': () => {
    throw new Error('OGC API - Processes providers are not implemented yet');
  },
};
