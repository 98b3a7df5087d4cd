// The command line's consistency (issue: the first hour of a new user):
// --version, --help on stdout with exit 0 for every command, unknown flags
// in bpfgate's words with the closest flag, documented exit codes.
import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../../src/args.ts';
import { keepsEnforcing, parseRunArgs, stoppingMessage } from '../../../src/cli/commands/run.ts';
import { COMMANDS, main } from '../../../src/cli/dispatch.ts';
import { EXIT } from '../../../src/cli/exit.ts';
import { UsageError } from '../../../src/errors.ts';
import { captureOutput } from '../../support/capture.ts';

const io = captureOutput();

describe('bpfgate', () => {
  it('--version prints the package version on stdout and exits 0', async () => {
    expect(await main(['--version'])).toBe(EXIT.ok);
    expect(io.out).toMatch(/^bpfgate \d+\.\d+\.\d+ \(Node\.js \d+/);
    expect(io.err).toBe('');
  });

  it.each(Object.keys(COMMANDS))('%s --help: usage on stdout, exit 0', async (name) => {
    expect(await main([name, '--help'])).toBe(EXIT.ok);
    expect(io.out).toMatch(new RegExp(`^usage: bpfgate ${name}`));
    expect(io.err).toBe('');
  });

  it('help CMD is CMD --help; --help and help alone list the commands', async () => {
    expect(await main(['help', 'run'])).toBe(EXIT.ok);
    expect(io.out).toMatch(/^usage: bpfgate run/);
    io.out = '';
    expect(await main(['--help'])).toBe(EXIT.ok);
    expect(io.out).toContain('Exit status: 0 ok, 1 the checked thing failed, 2 usage error');
  });

  it('no command: the usage on stderr, exit 2; an unknown command names the closest', async () => {
    expect(await main([])).toBe(EXIT.usage);
    expect(io.out).toBe('');
    expect(await main(['valdate'])).toBe(EXIT.usage);
    expect(io.err).toContain("unknown command 'valdate' (did you mean 'validate'?)");
  });

  it.each([
    ['run', '--polcies', "did you mean '--policies'?"],
    ['validate', '--jsn', "did you mean '--json'?"],
    ['tail', '--outcom', "did you mean '--outcome'?"],
    ['status', '--ur', "did you mean '--url'?"],
  ])('%s %s: an unknown flag in bpfgate words with the closest one, exit 2', async (cmd, flag, hint) => {
    expect(await main([cmd, flag, 'x'])).toBe(EXIT.usage);
    expect(io.err).toBe(
      `bpfgate ${cmd}: unknown flag '${flag}' (${hint} run 'bpfgate ${cmd} --help' for its flags)\n`,
    );
    expect(io.err).not.toMatch(/Unknown option|positional argument/);
  });

  it('flag values: missing, given to a switch, stray arguments', () => {
    const opts = { json: { type: 'boolean' }, url: { type: 'string' } } as const;
    expect(() => parseCommandArgs('status', ['--url'], opts)).toThrow(new UsageError('--url needs a value'));
    expect(() => parseCommandArgs('status', ['--json=yes'], opts)).toThrow(
      new UsageError('--json takes no value'),
    );
    expect(() => parseCommandArgs('status', ['--url', 'u', 'extra'], opts)).toThrow(
      new UsageError("unexpected argument 'extra': 'bpfgate status' takes flags only"),
    );
    expect(parseCommandArgs('status', ['--url', 'http://h:1'], opts).values.url).toBe('http://h:1');
  });

  it('tail without a daemon or a server: a clear error and exit 4, no stack trace', async () => {
    expect(await main(['tail', '--socket', '/nonexistent/bpfgate/events.sock'])).toBe(EXIT.runtime);
    expect(io.err).toMatch(/^bpfgate tail: no running daemon at \/nonexistent\/bpfgate\/events\.sock/);
    expect(await main(['tail', '--nats', 'nats://127.0.0.1:1'])).toBe(EXIT.runtime);
    expect(io.err).toContain('bpfgate tail: cannot connect to nats://127.0.0.1:1');
    expect(await main(['tail', '--nats', 'foo://a b'])).toBe(EXIT.usage);
    expect(io.err).not.toMatch(/\n\s+at /);
  });

  it('--keep-enforcing: stopping does not claim to detach', () => {
    const keep = parseRunArgs(['--keep-enforcing'], {}, null)!;
    expect(keepsEnforcing(keep)).toBe(true);
    expect(stoppingMessage(keep)).not.toMatch(/detach/);
    expect(stoppingMessage(keep)).toMatch(/keep enforcing/);
    const plain = parseRunArgs([], {}, null)!;
    expect(stoppingMessage(plain)).toBe('stopping: detaching every program');
    expect(keepsEnforcing(parseRunArgs(['--keep-enforcing', '--pin-root', 'off'], {}, null)!)).toBe(false);
  });
});
