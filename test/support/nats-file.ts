// One nats-server for a whole test file: started before its first test,
// disposed of after its last (with anything else the file started).
import { afterAll, beforeAll } from 'vitest';
import { NatsServer, stopAllServers } from './nats-server.ts';

export function serverForFile(): { readonly server: NatsServer } {
  let server: NatsServer | undefined;
  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server?.dispose();
    await stopAllServers();
  });
  return {
    get server() {
      if (!server) throw new Error('the NATS server is started in beforeAll');
      return server;
    },
  };
}
