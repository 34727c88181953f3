import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, it } from 'node:test';
import { PREVIOUS_SIGNATURE_HEADER, SIGNATURE_FORMATS, signBody, signatureHeaders } from './signature.ts';

const body = '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"red+flower.jpg"}}}]}';
const NOW = 1_750_000_000_000;

/** Alarik's documented receiver check, transcribed: hmac.compare_digest(hexdigest, header). */
function alarikIsValid(rawBody: Buffer, header: string, secret: string): boolean {
  const expected = Buffer.from(
    createHmac('sha256', Buffer.from(secret, 'utf8')).update(rawBody).digest('hex'),
  );
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const hasPython = spawnSync('python3', ['-c', 'import hmac, hashlib'], { stdio: 'ignore' }).status === 0;

describe('signBody', () => {
  it('is sha256= and the lowercase hex HMAC-SHA256 of the body', () => {
    // RFC 4231 test case 2.
    assert.equal(
      signBody('Jefe', 'what do ya want for nothing?'),
      'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('verifies with the Alarik recipe on the hex part', () => {
    const secret = 'whsec_ünïcode-secret';
    const header = signBody(secret, body);
    assert.match(header, /^sha256=[0-9a-f]{64}$/);
    assert.ok(alarikIsValid(Buffer.from(body, 'utf8'), header.slice('sha256='.length), secret));
    assert.ok(!alarikIsValid(Buffer.from(body + ' ', 'utf8'), header.slice('sha256='.length), secret));
  });

  it(
    'matches Python hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()',
    { skip: !hasPython && 'python3 not installed' },
    () => {
      const secret = 'whsec_ünïcode-secret';
      const script =
        'import sys, hmac, hashlib\n' +
        'secret, body = sys.argv[1], sys.stdin.buffer.read()\n' +
        'print(hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(), end="")';
      const run = spawnSync('python3', ['-c', script, secret], {
        input: Buffer.from(body, 'utf8'),
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(`sha256=${run.stdout}`, signBody(secret, body));
    },
  );

  it('signs bytes and strings alike', () => {
    assert.equal(signBody('k', Buffer.from(body, 'utf8')), signBody('k', body));
    assert.equal(signBody('k', Buffer.from(body, 'utf8'), 'hex'), signBody('k', body, 'hex'));
  });

  it('in the hex format is the bare lowercase hex digest', () => {
    assert.equal(
      signBody('Jefe', 'what do ya want for nothing?', 'hex'),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    assert.equal(signBody('k', body, 'prefixed'), signBody('k', body));
    assert.deepEqual(SIGNATURE_FORMATS, ['prefixed', 'hex']);
  });

  it('in the hex format verifies with the Alarik recipe on the whole header value', () => {
    const secret = 'whsec_ünïcode-secret';
    const header = signBody(secret, body, 'hex');
    assert.ok(alarikIsValid(Buffer.from(body, 'utf8'), header, secret));
    assert.ok(!alarikIsValid(Buffer.from(body, 'utf8'), header, 'other secret'));
    assert.ok(!alarikIsValid(Buffer.from(body, 'utf8'), signBody(secret, body), secret), 'sha256= fails it');
  });

  it(
    'in the hex format passes the Python recipe, run as documented, on the whole header value',
    { skip: !hasPython && 'python3 not installed' },
    () => {
      const secret = 'whsec_ünïcode-secret';
      const script =
        'import sys, hmac, hashlib\n' +
        'def is_valid(body: bytes, header: str, secret: str) -> bool:\n' +
        '    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()\n' +
        '    return hmac.compare_digest(expected, header)\n' +
        'print(is_valid(sys.stdin.buffer.read(), sys.argv[2], sys.argv[1]), end="")';
      const verify = (header: string) =>
        spawnSync('python3', ['-c', script, secret, header], {
          input: Buffer.from(body, 'utf8'),
          encoding: 'utf8',
        });
      const good = verify(signBody(secret, body, 'hex'));
      assert.equal(good.status, 0, good.stderr);
      assert.equal(good.stdout, 'True');
      assert.equal(verify(signBody(secret, body, 'prefixed')).stdout, 'False');
    },
  );
});

describe('signatureHeaders', () => {
  it('sends one signature in the configured header outside a rotation', () => {
    assert.deepEqual(signatureHeaders({ header: 'X-Alarik-Signature-256', secret: 'new' }, body, NOW), {
      'X-Alarik-Signature-256': signBody('new', body),
    });
  });

  it('ignores a previous secret whose overlap has ended', () => {
    const headers = signatureHeaders(
      { header: 'X-Hub-Signature-256', secret: 'new', previousSecret: 'old', previousSecretUntil: NOW },
      body,
      NOW,
    );
    assert.deepEqual(headers, { 'X-Hub-Signature-256': signBody('new', body) });
  });

  it('during the overlap sends new,old in the header and old in the Previous header', () => {
    const headers = signatureHeaders(
      { header: 'X-Hub-Signature-256', secret: 'new', previousSecret: 'old', previousSecretUntil: NOW + 1 },
      body,
      NOW,
    );
    assert.deepEqual(headers, {
      'X-Hub-Signature-256': `${signBody('new', body)},${signBody('old', body)}`,
      [PREVIOUS_SIGNATURE_HEADER]: signBody('old', body),
    });
    // A receiver that still holds the old secret finds it among the comma-separated values.
    const values = (headers['X-Hub-Signature-256'] ?? '').split(',');
    assert.ok(values.some((v) => alarikIsValid(Buffer.from(body), v.slice('sha256='.length), 'old')));
    assert.ok(values.some((v) => alarikIsValid(Buffer.from(body), v.slice('sha256='.length), 'new')));
  });

  it('in the hex format sends the bare hex, and during the overlap only the new one in the header', () => {
    const signing = {
      header: 'X-Alarik-Signature-256',
      format: 'hex',
      secret: 'new',
      previousSecret: 'old',
      previousSecretUntil: NOW + 1,
    } as const;
    const during = signatureHeaders(signing, body, NOW);
    assert.deepEqual(during, {
      'X-Alarik-Signature-256': signBody('new', body, 'hex'),
      [PREVIOUS_SIGNATURE_HEADER]: signBody('old', body, 'hex'),
    });
    // Each header passes Alarik's whole-value comparison with its own secret.
    assert.ok(alarikIsValid(Buffer.from(body), during['X-Alarik-Signature-256'] ?? '', 'new'));
    assert.ok(alarikIsValid(Buffer.from(body), during[PREVIOUS_SIGNATURE_HEADER] ?? '', 'old'));
    assert.deepEqual(signatureHeaders(signing, body, NOW + 1), {
      'X-Alarik-Signature-256': signBody('new', body, 'hex'),
    });
  });
});
