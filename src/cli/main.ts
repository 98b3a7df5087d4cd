// bpfgate command-line entry point: importing this module runs the command
// named in process.argv (./dispatch.ts).
import { main } from './dispatch.ts';

process.exitCode = await main(process.argv.slice(2));
