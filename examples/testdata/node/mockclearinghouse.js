'use strict';
// Runs the mock Seattle Clearinghouse for a test: startMock starts the
// mockclearinghouse binary ($MOCKCLEARINGHOUSE, or the one on PATH) with a
// fault profile and waits for its credentials file, or fails saying why
// the mock did not start (no binary, or the mock's own message when it
// exits); stop ends it with SIGTERM and returns the findings of its
// behaviour report.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

const MOCK = process.env.MOCKCLEARINGHOUSE || 'mockclearinghouse';

async function startMock(faults = '') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mockclearinghouse-'));
  const creds = path.join(dir, 'creds.json');
  const report = path.join(dir, 'report.json');
  const mock = spawn(MOCK, ['-addr', '127.0.0.1:0', '-faults-spec', faults,
    '-creds-out', creds, '-report-out', report], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => mock.on('close', resolve));
  let failed = null;
  let log = ''; // the end of what the mock printed on stderr, to say why it stopped
  mock.on('error', (err) => { failed = err; });
  mock.stderr.on('data', (chunk) => { log = (log + chunk).slice(-4096); });
  for (let i = 0; !fs.existsSync(creds); i++) {
    if (failed) {
      throw new Error(`cannot run the mock ${MOCK}: ${failed.message}; build it with ` +
        '`go install ./cmd/mockclearinghouse` and put it on PATH, or name it in $MOCKCLEARINGHOUSE',
      { cause: failed });
    }
    if (mock.exitCode !== null || mock.signalCode !== null) {
      await exited; // all of its stderr is in
      throw new Error(`the mock exited with status ${mock.exitCode ?? mock.signalCode} before ` +
        `it was ready: ${log.trim()}`);
    }
    if (i === 200) {
      mock.kill('SIGTERM');
      await exited;
      throw new Error(`the mock wrote no ${creds} within 10 s: ${log.trim()}`);
    }
    await sleep(50);
  }
  const { url, accounts: [account] } = JSON.parse(fs.readFileSync(creds, 'utf8'));
  return {
    url,
    auth: { username: account.username, api_key: account.api_key },
    async stop() {
      mock.kill('SIGTERM');
      await exited;
      const { findings } = JSON.parse(fs.readFileSync(report, 'utf8'));
      fs.rmSync(dir, { recursive: true });
      return findings;
    },
  };
}

module.exports = { startMock };
