// Global set-up of the package suite: the tests' dockerd, the package and
// image (npm run package, once per source change) and the Debian image with
// systemd (once per machine). The engine is stopped afterwards if this run
// started it.
import { debianImage, packageArtefacts, startDocker, stopDocker } from '../support/docker.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const started = await startDocker();
  await packageArtefacts();
  await debianImage();
  return async () => {
    if (started) await stopDocker();
  };
}
