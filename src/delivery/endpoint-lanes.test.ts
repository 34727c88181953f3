import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointLanes } from './endpoint-lanes.ts';

const item = (endpoint_id: string, n: number) => ({ endpoint_id, n });

function takeAll(lanes: EndpointLanes<ReturnType<typeof item>>): string[] {
  const taken: string[] = [];
  for (let row = lanes.take(); row !== undefined; row = lanes.take())
    taken.push(`${row.endpoint_id}${row.n}`);
  return taken;
}

describe('EndpointLanes', () => {
  it('sends at most an endpoint’s limit at once, in claim order, taking endpoints in turn', () => {
    const lanes = new EndpointLanes<ReturnType<typeof item>>();
    for (let n = 1; n <= 4; n++) lanes.add(item('a', n), 2);
    lanes.add(item('b', 1), 1);
    lanes.add(item('b', 2), 1);
    assert.deepEqual(takeAll(lanes), ['a1', 'b1', 'a2']);
    assert.deepEqual([lanes.sending, lanes.queued], [3, 3]);
    lanes.done('b');
    assert.deepEqual(takeAll(lanes), ['b2'], 'a is still at its limit');
    lanes.done('a');
    lanes.done('a');
    assert.deepEqual(takeAll(lanes), ['a3', 'a4']);
    assert.deepEqual([lanes.sending, lanes.queued, lanes.waiting('a')], [3, 0, 0]);
  });

  it('does not let a full lane hold back the others', () => {
    const lanes = new EndpointLanes<ReturnType<typeof item>>();
    for (let n = 1; n <= 50; n++) lanes.add(item('slow', n), 1);
    lanes.add(item('fast', 1), 4);
    assert.deepEqual(takeAll(lanes), ['slow1', 'fast1']);
    lanes.done('fast');
    lanes.add(item('fast', 2), 4);
    assert.deepEqual(takeAll(lanes), ['fast2']);
    assert.equal(lanes.waiting('slow'), 49);
  });

  it('clear() returns what was queued and keeps counting what is being sent', () => {
    const lanes = new EndpointLanes<ReturnType<typeof item>>();
    lanes.add(item('a', 1), 1);
    lanes.add(item('a', 2), 1);
    lanes.add(item('b', 1), 1);
    assert.equal(lanes.take()?.n, 1);
    assert.deepEqual(
      lanes.clear().map((r) => `${r.endpoint_id}${r.n}`),
      ['a2', 'b1'],
    );
    assert.deepEqual([lanes.sending, lanes.queued], [1, 0]);
    lanes.done('a');
    lanes.done('a');
    assert.equal(lanes.sending, 0, 'an extra done() changes nothing');
    assert.equal(lanes.take(), undefined);
  });
});
