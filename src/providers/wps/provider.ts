import type { ProviderFactory } from '../provider.ts';

export const createWpsProvider: ProviderFactory = () => {
  throw new Error('WPS providers are not implemented yet');
};
