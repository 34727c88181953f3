import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildVkConfirmation, isValidVkAnswer, vkConfirmationSignature } from './vk-subscription.ts';

describe('VK URL confirmation', () => {
  it("matches VK's published test vector", () => {
    assert.equal(
      vkConfirmationSignature(
        'RPE5UuG94rGgBH6kHXN9FUPugFxj1hs2aUQc99btJp3E49tA',
        '2019-12-26T19:29:12+03:00',
        'mcs2883541269|bucketA|s3:ObjectCreated:Put',
        'http://test.com',
      ),
      'ea3fce4bb15c6de4fec365d36bcebbc34ccddf54616d5ca12e1972f82b6d37af',
    );
  });

  it('builds a SubscriptionConfirmation whose own fields produce the expected answer', () => {
    const request = buildVkConfirmation(
      'http://hook.example/x',
      'owner|bucket|s3:ObjectCreated:*',
      Date.UTC(2026, 0, 2, 3, 4, 5),
    );
    const body = JSON.parse(request.body) as Record<string, unknown>;
    assert.equal(body['Type'], 'SubscriptionConfirmation');
    assert.equal(body['SignatureVersion'], 1);
    assert.equal(body['TopicArn'], 'owner|bucket|s3:ObjectCreated:*');
    assert.equal(body['Timestamp'], '2026-01-02T03:04:05+00:00');
    const expected = vkConfirmationSignature(
      String(body['Token']),
      body['Timestamp'],
      'owner|bucket|s3:ObjectCreated:*',
      'http://hook.example/x',
    );
    assert.equal(request.expectedSignature, expected);
    assert.ok(isValidVkAnswer(JSON.stringify({ signature: expected }), expected));
    assert.ok(!isValidVkAnswer(JSON.stringify({ signature: 'ab' }), expected));
    assert.ok(!isValidVkAnswer('not json', expected));
  });
});
