// vitest setupFile: runs in every test file; removes the file's tempFolder()s at its end.
import { afterAll } from 'vitest';
import { removeTempFolders } from './temp-dirs.js';

afterAll(removeTempFolders);
