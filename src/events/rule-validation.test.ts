import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchRules, type NotificationRule } from './notification-rule.ts';
import { validateRules, type RuleDraft } from './rule-validation.ts';

const draft = (over: Partial<RuleDraft>): RuleDraft => ({
  id: 'r',
  destination: 'd',
  events: ['s3:ObjectCreated:*'],
  prefix: '',
  suffix: '',
  ...over,
});

describe('rule validation', () => {
  it('accepts disjoint rules', () => {
    assert.equal(
      validateRules([draft({ id: 'a', prefix: 'images/' }), draft({ id: 'b', prefix: 'docs/' })]),
      undefined,
    );
    assert.equal(
      validateRules([draft({ id: 'a', suffix: '.jpg' }), draft({ id: 'b', suffix: '.png' })]),
      undefined,
    );
    assert.equal(
      validateRules([
        draft({ id: 'a', events: ['s3:ObjectCreated:*'] }),
        draft({ id: 'b', events: ['s3:ObjectRemoved:*'] }),
      ]),
      undefined,
    );
    assert.equal(validateRules([draft({ id: 'a' }), draft({ id: 'b', destination: 'other' })]), undefined);
  });

  it('refuses overlapping rules for one destination', () => {
    assert.deepEqual(
      validateRules([draft({ id: 'a', prefix: 'images/' }), draft({ id: 'b', prefix: 'images/2024/' })]),
      { kind: 'ambiguous', first: 'a', second: 'b' },
    );
    assert.deepEqual(
      validateRules([
        draft({ id: 'a', events: ['s3:ObjectCreated:Put'] }),
        draft({ id: 'b', suffix: '.jpg' }),
      ]),
      { kind: 'ambiguous', first: 'a', second: 'b' },
    );
  });

  it('refuses unknown events, duplicate ids and empty event lists', () => {
    assert.deepEqual(validateRules([draft({ events: ['s3:ObjectCreated:Nope'] })]), {
      kind: 'unknown-event',
      event: 's3:ObjectCreated:Nope',
    });
    assert.deepEqual(validateRules([draft({ id: 'x', prefix: 'a' }), draft({ id: 'x', prefix: 'b' })]), {
      kind: 'duplicate-id',
      id: 'x',
    });
    assert.deepEqual(validateRules([draft({ events: [] })]), { kind: 'no-events', id: 'r' });
  });
});

describe('rule matching', () => {
  const rule = (over: Partial<NotificationRule>): NotificationRule => ({
    id: 'r',
    bucket: 'b',
    endpointId: 'e',
    events: ['s3:ObjectCreated:*'],
    prefix: '',
    suffix: '',
    ...over,
  });

  it('matches bucket, event, prefix and suffix', () => {
    const rules = [
      rule({ id: 'jpg', prefix: 'images/', suffix: '.jpg', endpointId: 'e1' }),
      rule({ id: 'del', events: ['s3:ObjectRemoved:Delete'], endpointId: 'e2' }),
    ];
    assert.deepEqual(
      matchRules(rules, { bucket: 'b', key: 'images/cat.jpg', eventName: 's3:ObjectCreated:Put' }).map(
        (r) => r.id,
      ),
      ['jpg'],
    );
    assert.deepEqual(
      matchRules(rules, { bucket: 'b', key: 'images/cat.png', eventName: 's3:ObjectCreated:Put' }),
      [],
    );
    assert.deepEqual(
      matchRules(rules, { bucket: 'other', key: 'images/cat.jpg', eventName: 's3:ObjectCreated:Put' }),
      [],
    );
    assert.deepEqual(
      matchRules(rules, { bucket: 'b', key: 'x', eventName: 's3:ObjectRemoved:Delete' }).map((r) => r.id),
      ['del'],
    );
  });

  it('gives an endpoint one delivery even when several of its rules match', () => {
    const rules = [rule({ id: 'one' }), rule({ id: 'two', prefix: 'a' })];
    assert.deepEqual(
      matchRules(rules, { bucket: 'b', key: 'abc', eventName: 's3:ObjectCreated:Put' }).map((r) => r.id),
      ['one'],
    );
  });
});
