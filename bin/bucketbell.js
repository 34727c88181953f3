#!/usr/bin/env node
// bucketbell runs its TypeScript sources directly on Node 24 (type stripping); see README.
import './thread-pool.js'; // first: sizes libuv's pool before anything uses it
import { main } from '../src/cli/main.ts';

process.exitCode = await main(process.argv.slice(2), process.env);
