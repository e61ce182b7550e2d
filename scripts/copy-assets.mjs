// Copies non-TypeScript assets the compiled CLI needs (schemas) next to dist/.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
mkdirSync('dist', { recursive: true });
if (existsSync('schemas')) cpSync('schemas', 'dist/schemas', { recursive: true });
