import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.node/', 'var/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Layering: the core knows nothing of protocols, servers or storage; the two protocol bindings
  // never import each other; processors see only the core.
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', '!../util', '!../util/*'],
              message: 'src/core imports only src/core and src/util.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/wps/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/oaproc/*'], message: 'src/wps never imports src/oaproc.' },
            {
              group: ['**/providers/*', '**/providers/**'],
              message: 'Protocol bindings never import src/providers.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/oaproc/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/wps/*'], message: 'src/oaproc never imports src/wps.' },
            {
              group: ['**/providers/*', '**/providers/**'],
              message: 'Protocol bindings never import src/providers.',
            },
          ],
        },
      ],
    },
  },
  {
    // The OGC API provider is a client: it speaks OGC API itself and borrows nothing from the bindings.
    files: ['src/providers/ogcapi/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/oaproc/*', '**/wps/*'],
              message: 'src/providers/ogcapi never imports a protocol binding.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['processes/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '/src/(?!core/)',
              message: 'Processors import only src/core (and their own helpers).',
            },
          ],
        },
      ],
    },
  },
);
