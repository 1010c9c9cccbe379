import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { installedLlamaBuilds, runtimeFailure } from './runtime.js';

describe('when llama.cpp cannot start', () => {
  test("the installed prebuilt builds are found beside node-llama-cpp, this platform's among them", () => {
    const builds = installedLlamaBuilds();
    const cpuBuild = { linux: 'linux', darwin: 'mac', win32: 'win' }[process.platform as string];
    assert.ok(
      builds.some((build) => build.startsWith(`${cpuBuild}-${process.arch}`)),
      `no ${cpuBuild}-${process.arch} build among ${builds.join(', ')}`,
    );
  });

  test('the error names the platform, what is installed, the cause and the two ways forward', () => {
    const message = runtimeFailure(new Error('No prebuilt binary found'), []);
    assert.match(message, new RegExp(`${process.platform}-${process.arch}`));
    assert.match(message, /no prebuilt llama\.cpp package is installed/);
    assert.match(message, /No prebuilt binary found/);
    assert.match(message, /npm install/);
    assert.match(message, /JARVIS_LLM_BASE_URL/);
    assert.match(
      runtimeFailure('GLIBC_2.38 not found', ['linux-x64']),
      /installed builds: linux-x64\): GLIBC/,
    );
  });
});
