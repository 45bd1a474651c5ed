'use strict';
// An acquisition whose answer is lost may have happened: look, then decide.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const xmlrpc = require('xmlrpc');
const { startMock } = require('./mockclearinghouse');

function call(client, method, ...params) {
  return new Promise((resolve, reject) => {
    client.methodCall(method, params, (err, value) => (err ? reject(err) : resolve(value)));
  });
}

async function acquireCarefully(client, auth, type, n) {
  const handles = async () => (await call(client, 'get_resource_info', auth)).map((v) => v.handle);
  const before = new Set(await handles());
  const request = { rspec_type: type, number_of_nodes: n };
  try {
    return (await call(client, 'acquire_resources', auth, request)).map((v) => v.handle);
  } catch (err) {
    if (err.faultCode !== undefined) throw err; // the clearinghouse said no: nothing was acquired
    const fresh = (await handles()).filter((h) => !before.has(h)); // no answer: it may have been applied
    if (fresh.length === n) return fresh;
    if (fresh.length > 0) throw new Error(`${fresh.length} new vessels, ${n} asked for`, { cause: err });
    return (await call(client, 'acquire_resources', auth, request)).map((v) => v.handle);
  }
}

for (const faults of [
  'acquire_resources:reset_after,next=1', // applied, then the answer is lost
  'acquire_resources:reset_before,next=1', // lost before it is applied
  'acquire_resources:truncate,next=1', // applied, the answer cut short
  'acquire_resources:unavailable,next=1', // 503: not applied
]) {
  test(`acquire survives ${faults}`, async (t) => {
    const mock = await startMock(faults);
    t.after(async () => assert.deepEqual(await mock.stop(), [], 'the behaviour report has findings'));
    const client = xmlrpc.createClient(mock.url);
    const vessels = await acquireCarefully(client, mock.auth, 'wan', 2);
    const held = (await call(client, 'get_resource_info', mock.auth)).map((v) => v.handle);
    assert.equal(vessels.length, 2);
    assert.deepEqual(held.sort(), vessels.sort());
    await call(client, 'release_resources', mock.auth, vessels);
  });
}
