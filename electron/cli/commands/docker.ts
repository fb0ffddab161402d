// `kdlab images …` and `kdlab docker status`: the Docker engine, the offline Debian base and the
// lab toolchain images.
import { cliLanguage } from '../../common/local-text';
import { join } from 'node:path';
import { LabError } from '../../common/errors';
import { ensureDebianBase } from '../../lab/docker/base-image';
import { openDockerEngine } from '../../lab/docker/engine';
import type { DockerEngine, DockerEngineOptions } from '../../lab/docker/engine';
import { ensureLabImage, listKdlabImages, readLabImageManifest } from '../../lab/docker/lab-images';
import type { Command, CliContext, OptionValues } from '../command';
import { runJob, str, withBackend } from '../command';

const json = { type: 'boolean' } as const;
const engineOptions = {
  host: { type: 'string' },
  'tls-cert-path': { type: 'string' },
  'tls-no-verify': { type: 'boolean' },
} as const;
const engineUsage = `  --host URL            the engine: unix:///var/run/docker.sock, tcp://HOST:2376, ssh://USER@HOST
                        (default: DOCKER_HOST, else the local socket)
  --tls-cert-path DIR   ca.pem, cert.pem, key.pem for tcp:// (default: DOCKER_CERT_PATH, ~/.docker)
  --tls-no-verify       do not check the daemon's certificate against ca.pem (checked by default)`;
const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;

function engineFrom(values: OptionValues, ctx: Required<CliContext>): Promise<DockerEngine> {
  const options: DockerEngineOptions = { env: ctx.env };
  const host = str(values.host);
  const certPath = str(values['tls-cert-path']);
  if (host !== undefined) options.host = host;
  if (certPath !== undefined) options.tlsCertPath = certPath;
  if (values['tls-no-verify'] === true) options.tlsVerify = false;
  return openDockerEngine(options);
}

function print(ctx: Required<CliContext>, values: OptionValues, value: unknown, text: string): void {
  ctx.stdout.write(values.json ? `${JSON.stringify(value, null, 2)}\n` : text);
}

export const dockerCommands: Record<string, Command> = {
  'docker status': {
    summary: 'Check the Docker engine kdlab would use',
    usage: `kdlab docker status [--host URL] [--json]\n\n${engineUsage}`,
    options: { ...engineOptions, json },
    async run(values, ctx) {
      const engine = await engineFrom(values, ctx);
      const status = {
        endpoint: engine.endpoint,
        isLocal: engine.isLocal,
        version: engine.version,
        apiVersion: engine.apiVersion,
      };
      print(
        ctx,
        values,
        status,
        `${engine.endpoint}: Docker ${engine.version} (API ${engine.apiVersion})${engine.isLocal ? '' : ', remote'}\n`,
      );
      return 0;
    },
  },
  'images base': {
    summary: 'Make the Debian base image offline (debootstrap + docker import)',
    usage: `kdlab images base --debootstrap [--suite bookworm] [--mirror URL] [--force] [--json]

  Makes kdlab/debian-base:SUITE from the Debian mirror, so the lab images build with no registry.
  Needs root and debootstrap; ~2 min. Reused when the tag exists, unless --force.
  --mirror URL          default: KDLAB_DEBIAN_MIRROR, else the host's apt sources, else deb.debian.org
${engineUsage}`,
    options: {
      debootstrap: { type: 'boolean' },
      suite: { type: 'string' },
      mirror: { type: 'string' },
      force: { type: 'boolean' },
      ...engineOptions,
      json,
    },
    run: (values, ctx) =>
      withBackend(ctx, 'web', async (backend) => {
        if (values.debootstrap !== true)
          throw new LabError(
            'BAD_REQUEST',
            'kdlab images base needs --debootstrap (the only way to make a base without a registry).',
            'kdlab images base --debootstrap',
          );
        const engine = await engineFrom(values, ctx);
        const suite = str(values.suite);
        const mirror = str(values.mirror);
        const result = await runJob(
          backend,
          ctx,
          values.json === true,
          { title: 'Making the Debian base image', kind: 'docker-base' },
          (progress, signal) =>
            ensureDebianBase(
              engine,
              {
                tmpDir: join(backend.workspace.tmpDir, 'docker-base'),
                force: values.force === true,
                env: ctx.env,
                ...(suite ? { suite } : {}),
                ...(mirror ? { mirror } : {}),
              },
              progress,
              signal,
            ),
        );
        print(
          ctx,
          values,
          result,
          `${result.ref} ${result.reused ? 'exists (reused)' : 'made'}: ${result.imageId.slice(7, 19)}, ${mb(result.sizeBytes)}, from ${result.mirror}\n`,
        );
        return 0;
      }),
  },
  'images build': {
    summary: 'Build a lab image (default: toolchain) from lab-images/, reused while unchanged',
    usage: `kdlab images build [NAME] [--base REF] [--force] [--make-base] [--json]

  Builds lab-images/NAME (listed in lab-images/manifest.json) through the engine and tags it
  kdlab/NAME:<hash of the context and base> and kdlab/NAME:latest.
  --base REF            build FROM this image (default: the Dockerfile's public base when the engine
                        has it, else kdlab/debian-base:SUITE)
  --make-base           make the Debian base with debootstrap first when there is none
  --force               build even when the tag exists (the engine's layer cache still applies)
${engineUsage}`,
    options: {
      base: { type: 'string' },
      force: { type: 'boolean' },
      'make-base': { type: 'boolean' },
      ...engineOptions,
      json,
    },
    positionals: true,
    run: (values, ctx, positionals) =>
      withBackend(ctx, 'web', async (backend) => {
        if (positionals.length > 1)
          throw new LabError(
            'BAD_REQUEST',
            'kdlab images build takes one image name.',
            'kdlab images build toolchain',
          );
        const name = positionals[0] ?? 'toolchain';
        const engine = await engineFrom(values, ctx);
        const base = str(values.base);
        const result = await runJob(
          backend,
          ctx,
          values.json === true,
          { title: `Building the ${name} image`, kind: 'docker-build' },
          (progress, signal) =>
            ensureLabImage(engine, name, progress, signal, {
              labImagesDir: join(ctx.appRoot, 'lab-images'),
              force: values.force === true,
              ...(base ? { base } : {}),
              ...(values['make-base'] === true
                ? { makeBase: { tmpDir: join(backend.workspace.tmpDir, 'docker-base') } }
                : {}),
            }),
        );
        print(
          ctx,
          values,
          result,
          `${result.ref} ${result.cacheHit ? 'is up to date (cache hit)' : 'built'}: ${result.imageId.slice(7, 19)}, ${mb(result.sizeBytes)}, on ${result.base}\n`,
        );
        return 0;
      }),
  },
  'images list': {
    summary: 'List the lab images kdlab knows and the kdlab images on the engine',
    usage: `kdlab images list [--json]\n\n${engineUsage}`,
    options: { ...engineOptions, json },
    async run(values, ctx) {
      const manifest = await readLabImageManifest(join(ctx.appRoot, 'lab-images'));
      const engine = await engineFrom(values, ctx);
      const images = await listKdlabImages(engine);
      const lines = [
        `Lab images (lab-images/manifest.json):`,
        ...manifest.images.map(
          (i) => `  ${i.name.padEnd(12)} ${i.description[cliLanguage(undefined, ctx.env)]}`,
        ),
        `On ${engine.endpoint}:`,
        ...(images.length === 0
          ? ['  none yet — kdlab images base --debootstrap, then kdlab images build']
          : images.map(
              (i) =>
                `  ${i.id.slice(7, 19)}  ${mb(i.sizeBytes).padStart(7)}  ${i.created.slice(0, 16)}  ${i.tags.join(' ') || '(untagged)'}`,
            )),
      ];
      print(
        ctx,
        values,
        { manifest: manifest.images, engine: engine.endpoint, images },
        `${lines.join('\n')}\n`,
      );
      return 0;
    },
  },
};
