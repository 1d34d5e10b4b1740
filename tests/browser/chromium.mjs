// How every browser script starts Chromium: the system binary (or $CHROMIUM), no
// sandbox, nothing phoning home. `webgl: true` renders WebGL in software
// (SwiftShader) for the map; otherwise the GPU is off.
import { chromium } from 'playwright-core';

const QUIET = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const WEBGL = ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'];

export function launchChromium({ webgl = false } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [...QUIET, ...(webgl ? WEBGL : ['--disable-gpu'])],
  });
}
