/**
 * The package as a user gets it: `npm pack`, installed from the tarball into a fresh project outside the
 * repository, imported from TypeScript (type-checked against the shipped .d.ts), and its `jarvis` binary run
 * from yet another folder. Catches what tests of the source tree cannot: a file missing from `files`, an
 * `exports` map that does not resolve, declarations that do not compile, a dependency only devDependencies had.
 *
 * It packs the dist/ and web/dist/ that `npm test` has just built (`--ignore-scripts`: building again would
 * double the time); after editing sources, run `npm run build` first when running this file alone.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanEnvironment } from './support/cli.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  allowScripts?: Record<string, boolean>;
};

/** What the package cannot work without: the CLI, the library entry and its types, and the web UI. */
const REQUIRED_FILES = [
  'package.json',
  'README.md',
  'LICENSE',
  'bin/jarvis.js',
  'dist/cli/main.js',
  'dist/index.js',
  'dist/index.d.ts',
  'web/dist/index.html',
];

/** Expert runtimes that must load only when a task needs them, never on import or for a custom backend. */
const HEAVY_PACKAGES = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-wasm',
  '@vladmandic/human',
  '@huggingface/transformers',
  'onnxruntime-node',
  'onnxruntime-web',
  'node-llama-cpp',
  'tesseract.js',
  '@techstark/opencv-js',
  '@gutenye/ocr-common',
];

/** The public API, exactly: a new export is a promise to keep, so adding one should be deliberate. */
const PUBLIC_EXPORTS = [
  'CancelledError',
  'ConfigError',
  'InferenceError',
  'InputError',
  'JarvisError',
  'LlmError',
  'ModelUnavailableError',
  'NoSuchModelError',
  'PlanError',
  'TimeoutError',
  'createJarvis',
  'defineConfig',
  'generatedRef',
  'loadConfig',
  'modelKey',
  'resolveConfig',
];

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function exec(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Math.round(performance.now() - started) });
    });
  });
}

function assertExited(outcome: Outcome, what: string): void {
  assert.equal(outcome.code, 0, `${what} exited ${outcome.code}:\n${outcome.stdout}\n${outcome.stderr}`);
}

/** The ```ts block of the README's "Use as a library" section, which this test runs as a user would. */
function readmeExample(): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.split(/^## Use as a library$/m)[1]?.split(/^## /m)[0];
  const code = section?.match(/```ts\n([\s\S]*?)```/)?.[1];
  assert.ok(code, 'README.md has no ```ts example under "## Use as a library"');
  return code;
}

/**
 * A loader hook that records every package a program loads: how the tests see that importing Jarvis, or
 * running a custom expert, does not drag in TensorFlow, ONNX or llama.cpp.
 */
const TRACE_HOOK = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const name = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(resolved.url)?.[1];
  if (name && process.env.TRACE_FILE) appendFileSync(process.env.TRACE_FILE, name + '\\n');
  return resolved;
}
`;
const TRACE_REGISTER = `import { register } from 'node:module';\nregister('./trace-hook.mjs', import.meta.url);\n`;

/** Prints the export names: the test compares them with PUBLIC_EXPORTS. */
const IMPORT_ONLY = `import * as api from '${manifest.name}';\nconsole.log(JSON.stringify(Object.keys(api).sort()));\n`;

/** Uses more of the API than the README shows, with the types a user's editor would check. */
function checkProgram(name: string): string {
  return `
import { writeFileSync } from 'node:fs';
import {
  ConfigError, createJarvis, defineConfig, generatedRef, JarvisError, resolveConfig,
  type InferenceBackend, type ModelCard, type RunEvent, type RunResult, type TaskGraph,
} from '${name}';

const card = (id: string, task: ModelCard['task']): ModelCard => ({
  id, backend: 'toy', task, description: id, source: 'test', local: true, available: true,
});
const toy: InferenceBackend = {
  specificationVersion: 'v1',
  id: 'toy',
  supports: (task) => task === 'text-to-image' || task === 'image-to-text',
  listModels: async (task) => [card('painter', 'text-to-image'), card('reader', 'image-to-text')]
    .filter((model) => task === undefined || model.task === task),
  async infer({ task, inputs, artifacts }) {
    if (task === 'text-to-image') {
      const artifact = await artifacts.write({
        kind: 'image', bytes: new TextEncoder().encode(inputs.text ?? ''), mimeType: 'image/png', extension: 'png',
      });
      return { text: 'painted', artifacts: [artifact] };
    }
    return { text: \`read \${inputs.image?.path.endsWith('.png') ? 'a png' : 'nothing'}\`, data: { ok: true } };
  },
};

const config = defineConfig({ dataDir: 'data', execute: { concurrency: 1 } });
const jarvis = await createJarvis({ config, backends: [toy], builtInBackends: false, controller: null });
const plan: TaskGraph = [
  { id: 0, task: 'text-to-image', dep: [-1], args: { text: 'a zebra' } },
  { id: 1, task: 'image-to-text', dep: [0], args: { image: generatedRef(0) } },
];
const events: RunEvent['type'][] = [];
const stream = jarvis.stream('paint and read', { plan, select: 'top', answer: false });
for await (const event of stream) events.push(event.type);
const result: RunResult = await stream.result;

let invalidPlan = '';
try {
  await jarvis.run('bad', { plan: [{ id: 0, task: 'text-to-image', dep: [5], args: {} }], answer: false });
} catch (error) {
  invalidPlan = error instanceof ConfigError ? error.message : \`not a ConfigError: \${String(error)}\`;
}
let noController = '';
try {
  await jarvis.run('plan this yourself');
} catch (error) {
  noController = error instanceof JarvisError ? \`\${error.code}: \${error.message}\` : String(error);
}
let duplicate = '';
await createJarvis({ backends: [toy, toy], builtInBackends: false, controller: null }).catch((error: unknown) => {
  duplicate = error instanceof ConfigError ? error.message : String(error);
});
const models = (await jarvis.models()).map((model) => \`\${model.backend}:\${model.id}\`);
await jarvis.close();

writeFileSync(process.argv[2] ?? 'check.json', JSON.stringify({
  events,
  tasks: result.tasks.map((task) => ({ status: task.status, text: task.output?.text, model: task.model })),
  outputDir: result.outputDir,
  invalidPlan,
  noController,
  duplicate,
  models,
  defaults: resolveConfig().select,
}));
`;
}

describe('the npm package, installed from its tarball', { timeout: 420_000 }, () => {
  let root = '';
  let project = '';
  let tarball = '';
  let tarballFiles: string[] = [];
  const timings: Record<string, number> = {};
  const home = () => join(root, 'home');
  const bin = () => join(project, 'node_modules', '.bin', 'jarvis');

  before(
    async () => {
      root = mkdtempSync(join(tmpdir(), 'jarvis-package-'));
      project = join(root, 'project');
      mkdirSync(project);
      mkdirSync(home());

      const packed = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], {
        cwd: REPO,
        timeoutMs: 60_000,
      });
      assertExited(packed, 'npm pack');
      timings.packMs = packed.ms;
      const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
      assert.ok(info, 'npm pack printed no package');
      tarball = join(root, info.filename);
      tarballFiles = info.files.map((file) => file.path);

      // A user's project. node-llama-cpp's CUDA and Vulkan builds (~700 MB) are left out as CI leaves them
      // out: this test is about our package, and a user's install keeps them. The repository's own install
      // settings (which install scripts may run: onnxruntime-node's would download CUDA files) apply here too.
      const llamaCpp = JSON.parse(
        readFileSync(join(REPO, 'node_modules', 'node-llama-cpp', 'package.json'), 'utf8'),
      ) as { optionalDependencies?: Record<string, string> };
      const overrides = Object.fromEntries(
        Object.keys(llamaCpp.optionalDependencies ?? {})
          .filter((name) => /cuda|vulkan/.test(name))
          .map((name) => [name, 'npm:empty-npm-package@1.0.0']),
      );
      writeFileSync(
        join(project, 'package.json'),
        JSON.stringify({
          name: 'jarvis-package-test',
          private: true,
          type: 'module',
          overrides,
          ...(manifest.allowScripts ? { allowScripts: manifest.allowScripts } : {}),
        }),
      );
      copyFileSync(join(REPO, '.npmrc'), join(project, '.npmrc'));
      writeFileSync(join(project, 'trace-hook.mjs'), TRACE_HOOK);
      writeFileSync(join(project, 'trace.mjs'), TRACE_REGISTER);
    },
    { timeout: 90_000 },
  );

  after(() => {
    if (!root) return;
    if (process.env.JARVIS_KEEP_PACKAGE_TEST) {
      console.log(`kept ${root}`);
    } else if (process.platform === 'win32') {
      rmSync(root, { recursive: true, force: true });
    } else {
      // Deleting the 1 GB install takes half a minute on a slow disk: let it happen after the test ends.
      spawn('rm', ['-rf', root], { detached: true, stdio: 'ignore' }).unref();
    }
  });

  test('the tarball holds everything the package needs', () => {
    const missing = REQUIRED_FILES.filter((file) => !tarballFiles.includes(file));
    assert.deepEqual(
      missing,
      [],
      `The tarball lacks ${missing.join(', ')}. Build first (npm run build makes dist/ and web/dist/) and ` +
        'check "files" in package.json.',
    );
    assert.ok(
      !tarballFiles.some((file) => /^(src|test)\//.test(file)),
      'sources or tests were packed: narrow "files" in package.json',
    );
  });

  test('installs into a fresh project from the npm cache', { timeout: 300_000 }, async (t) => {
    // An incomplete tarball is reported by the test above; installing it would only add a minute of noise.
    if (REQUIRED_FILES.some((file) => !tarballFiles.includes(file)))
      return t.skip('the tarball is incomplete');
    const installed = await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
      cwd: project,
      env: cleanEnvironment(home()),
      timeoutMs: 290_000,
    });
    timings.installMs = installed.ms;
    t.diagnostic(`npm pack ${timings.packMs} ms, npm install ${installed.ms} ms`);
    assertExited(installed, 'npm install');
    assert.ok(existsSync(bin()), 'the package installed no jarvis binary');
  });

  test('the README example type-checks against the shipped .d.ts and runs', {
    timeout: 120_000,
  }, async (t) => {
    assert.ok(existsSync(bin()), 'not installed');
    const source = join(project, 'src');
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, 'example.ts'), readmeExample());
    writeFileSync(join(source, 'check.ts'), checkProgram(manifest.name));
    writeFileSync(join(source, 'import-only.ts'), IMPORT_ONLY);
    // The strictest settings a user might have, and no skipLibCheck: our declarations (and what they import
    // from our dependencies) must compile too. Only TypeScript's own lib files go unchecked: that halves the time.
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          verbatimModuleSyntax: true,
          lib: ['ES2023'],
          skipLibCheck: false,
          skipDefaultLibCheck: true,
          types: ['node'],
          typeRoots: [join(REPO, 'node_modules', '@types')],
          rootDir: 'src',
          outDir: 'out',
        },
        include: ['src'],
      }),
    );
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const compiled = await exec(process.execPath, [tsc, '-p', 'tsconfig.json'], {
      cwd: project,
      timeoutMs: 110_000,
    });
    timings.tscMs = compiled.ms;
    assertExited(compiled, 'tsc');

    const env = cleanEnvironment(home(), { TRACE_FILE: join(project, 'example.trace') });
    const ran = await exec(process.execPath, ['--import', './trace.mjs', 'out/example.js'], {
      cwd: project,
      env,
      timeoutMs: 60_000,
    });
    t.diagnostic(`tsc ${compiled.ms} ms, README example ${ran.ms} ms`);
    assertExited(ran, 'the README example');
    assert.equal(ran.stdout.trim(), 'Jarvis plans.');
    const loaded = new Set(readFileSync(join(project, 'example.trace'), 'utf8').split('\n'));
    assert.deepEqual(
      HEAVY_PACKAGES.filter((name) => loaded.has(name)),
      [],
      'a run with a custom expert loaded expert runtimes it does not use',
    );
  });

  test('importing the entry loads no expert runtime and exports exactly the public API', async () => {
    assert.ok(existsSync(join(project, 'out', 'import-only.js')), 'not compiled');
    const trace = join(project, 'import.trace');
    const ran = await exec(process.execPath, ['--import', './trace.mjs', 'out/import-only.js'], {
      cwd: project,
      env: cleanEnvironment(home(), { TRACE_FILE: trace }),
      timeoutMs: 30_000,
    });
    assertExited(ran, 'importing the package');
    assert.deepEqual(JSON.parse(ran.stdout), PUBLIC_EXPORTS);
    const loaded = new Set(readFileSync(trace, 'utf8').split('\n'));
    assert.deepEqual(
      HEAVY_PACKAGES.filter((name) => loaded.has(name)),
      [],
    );
  });

  test('createJarvis runs a given plan through a custom backend: events, artifacts, errors', async () => {
    assert.ok(existsSync(join(project, 'out', 'check.js')), 'not compiled');
    const work = join(root, 'library-work');
    mkdirSync(work, { recursive: true });
    const report = join(work, 'check.json');
    const ran = await exec(process.execPath, [join(project, 'out', 'check.js'), report], {
      cwd: work,
      env: cleanEnvironment(home()),
      timeoutMs: 60_000,
    });
    assertExited(ran, 'the library check');
    const outcome = JSON.parse(readFileSync(report, 'utf8'));
    assert.deepEqual(outcome.tasks, [
      { status: 'succeeded', text: 'painted', model: 'painter' },
      { status: 'succeeded', text: 'read a png', model: 'reader' },
    ]);
    assert.equal(outcome.events[0], 'run-start');
    assert.equal(outcome.events.at(-1), 'run-end');
    assert.ok(outcome.events.includes('task-end'));
    // dataDir is relative to the program's working directory.
    assert.ok(outcome.outputDir.startsWith(join(work, 'data', 'runs')), outcome.outputDir);
    assert.match(outcome.invalidPlan, /The given plan is invalid/);
    assert.match(outcome.noController, /^config: Planning needs the controller LLM/);
    assert.match(outcome.duplicate, /Two backends have the id "toy"/);
    assert.deepEqual(outcome.models.sort(), ['toy:painter', 'toy:reader']);
    assert.deepEqual(outcome.defaults, { strategy: 'llm', topK: 5, descriptionChars: 300 });
  });

  test('the installed jarvis binary runs from another folder', { timeout: 120_000 }, async (t) => {
    assert.ok(existsSync(bin()), 'not installed');
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    const env = cleanEnvironment(home(), { JARVIS_INFERENCE_MODE: 'local' });

    const version = await exec(bin(), ['--version'], { cwd: elsewhere, env, timeoutMs: 30_000 });
    assertExited(version, 'jarvis --version');
    assert.match(version.stdout, new RegExp(manifest.version.replaceAll('.', '\\.')));

    // Real experts from the installed package: NER (compromise) and COCO detection (human on tfjs wasm).
    copyFileSync(join(REPO, 'test', 'fixtures', 'images', 'b.jpg'), join(elsewhere, 'b.jpg'));
    writeFileSync(
      join(elsewhere, 'plan.json'),
      JSON.stringify([
        {
          id: 0,
          task: 'token-classification',
          dep: [-1],
          args: { text: 'Ada Lovelace was born in London.' },
        },
        { id: 1, task: 'object-detection', dep: [-1], args: { image: 'b.jpg' } },
      ]),
    );
    const run = await exec(
      bin(),
      ['run', 'Who and what is here?', '--plan', 'plan.json', '--select', 'top', '--no-answer', '--json'],
      { cwd: elsewhere, env, timeoutMs: 110_000 },
    );
    t.diagnostic(`jarvis --version ${version.ms} ms, jarvis run --plan ${run.ms} ms`);
    assertExited(run, 'jarvis run --plan');
    const result = JSON.parse(run.stdout) as {
      tasks: { task: string; status: string; output: { text?: string } | null }[];
      outputDir: string;
    };
    assert.deepEqual(
      result.tasks.map((task) => [task.task, task.status]),
      [
        ['token-classification', 'succeeded'],
        ['object-detection', 'succeeded'],
      ],
    );
    assert.match(result.tasks[0]?.output?.text ?? '', /London/);
    assert.match(result.tasks[1]?.output?.text ?? '', /zebra/);
    assert.ok(result.outputDir.startsWith(elsewhere), `outputs went to ${result.outputDir}`);
  });
});
