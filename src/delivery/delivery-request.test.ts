import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type {
  DeliveryContext,
  DeliveryEndpointRow,
  DeliveryEventRow,
  DeliveryRow,
} from '../db/delivery-repository.ts';
import { SecretBox } from '../db/secret-box.ts';
import {
  DeliveryRenderError,
  buildDeliveryRequest,
  maskHeaders,
  type RequestSettings,
} from './delivery-request.ts';
import { awsS3Format } from './formats/aws-s3-format.ts';
import { PREVIOUS_SIGNATURE_HEADER, signBody } from './signature.ts';

const NOW = 1_750_000_000_000;
const box = new SecretBox(randomBytes(32));
const settings: RequestSettings = {
  version: '1.2.3',
  payloadSettings: { region: 'eu-west-1', eventSource: 'bucketbell:s3' },
  formats: new Map([[awsS3Format.name, awsS3Format]]),
  secretBox: box,
};

const endpoint: DeliveryEndpointRow = {
  id: 'ep-1',
  name: 'hook',
  url: 'https://hooks.example/x',
  kind: 'webhook',
  format: 'aws',
  owner: 'root',
  bucket: null,
  origin: 'api',
  secret_ciphertext: null,
  previous_secret_ciphertext: null,
  previous_secret_until: null,
  signature_header: 'X-Hub-Signature-256',
  signature_format: 'prefixed',
  authorization_ciphertext: null,
  headers: '{}',
  headers_ciphertext: null,
  timeout_ms: 5000,
  max_attempts: 8,
  backoff_initial_ms: 30_000,
  backoff_max_ms: 3_600_000,
  max_in_flight: 4,
  state: 'active',
  state_reason: null,
  consecutive_failures: 0,
  auto_disable_failures: 0,
  auto_disable_after_ms: null,
  failing_since: null,
  client_certificate: null,
  client_key_ciphertext: null,
  created_at: NOW,
  updated_at: NOW,
};

const event: DeliveryEventRow = {
  id: 42,
  event_name: 's3:ObjectCreated:Put',
  bucket: 'photos',
  bucket_owner: 'root',
  key: 'a b.jpg',
  version_id: null,
  size: 3,
  etag: 'abc',
  content_type: 'image/jpeg',
  user_metadata: '{"k":"v"}',
  time: NOW,
  principal: 'root',
  source_ip: '10.0.0.1',
  request_id: 'req-9',
};

const delivery: DeliveryRow = {
  id: 'del-1',
  endpoint_id: 'ep-1',
  event_id: 42,
  rule_id: 'rule-7',
  kind: 'event',
  test_body: null,
  status: 'in_flight',
  attempts: 2,
  budget_start: 0,
  next_attempt_at: NOW,
  lease_owner: 'me',
  lease_until: NOW + 1000,
  last_status_code: null,
  last_error: null,
  last_duration_ms: null,
  created_at: NOW,
  updated_at: NOW,
  finished_at: null,
};

const context = (overrides: Partial<DeliveryEndpointRow> = {}): DeliveryContext => ({
  endpoint: { ...endpoint, ...overrides },
  event,
  ownerIsAdmin: false,
});

describe('buildDeliveryRequest', () => {
  it('renders the AWS payload and bucketbell’s headers', () => {
    const request = buildDeliveryRequest(delivery, context(), 3, NOW, settings);
    assert.equal(request.url, 'https://hooks.example/x');
    assert.equal(request.timeoutMs, 5000);
    assert.deepEqual(request.headers, {
      'Content-Type': 'application/json',
      'User-Agent': 'bucketbell/1.2.3',
      'X-Bucketbell-Delivery': 'del-1',
      'X-Bucketbell-Event': 's3:ObjectCreated:Put',
      'X-Bucketbell-Attempt': '3',
    });
    const body = JSON.parse(request.body) as {
      Records: { awsRegion: string; s3: { configurationId: string; object: { key: string } } }[];
    };
    assert.equal(body.Records[0]?.awsRegion, 'eu-west-1');
    assert.equal(body.Records[0]?.s3.configurationId, 'rule-7');
    assert.equal(body.Records[0]?.s3.object.key, 'a+b.jpg');
  });

  it('adds the sealed extra headers but never lets them replace bucketbell’s own', () => {
    const request = buildDeliveryRequest(
      delivery,
      context({
        secret_ciphertext: box.seal('s'),
        headers_ciphertext: box.seal(
          JSON.stringify({
            'X-Team': 'storage',
            'content-type': 'text/plain',
            'X-Bucketbell-Delivery': 'forged',
            'x-hub-signature-256': 'forged',
            Host: 'evil.example',
            'X-Retries': 3,
          }),
        ),
      }),
      1,
      NOW,
      settings,
    );
    assert.equal(request.headers['X-Team'], 'storage');
    assert.equal(request.headers['X-Retries'], '3');
    assert.equal(request.headers['content-type'], undefined);
    assert.equal(request.headers['Content-Type'], 'application/json');
    assert.equal(request.headers['X-Bucketbell-Delivery'], 'del-1');
    assert.equal(request.headers['x-hub-signature-256'], undefined);
    assert.equal(request.headers['Host'], undefined);
    // The attempt log never holds an extra header's value: they are stored only sealed.
    assert.equal(request.recordedHeaders['X-Team'], '***');
    assert.equal(request.recordedHeaders['X-Retries'], '***');
    assert.equal(request.recordedHeaders['X-Bucketbell-Delivery'], 'del-1');
    assert.equal(request.recordedHeaders['Content-Type'], 'application/json');
  });

  it('still sends the plaintext headers of an endpoint stored before they were sealed', () => {
    const request = buildDeliveryRequest(
      delivery,
      context({ headers: JSON.stringify({ 'X-Team': 'storage' }) }),
      1,
      NOW,
      settings,
    );
    assert.equal(request.headers['X-Team'], 'storage');
    assert.equal(request.recordedHeaders['X-Team'], '***');
  });

  it('signs the exact body and sends the sealed Authorization, masked in the recorded headers', () => {
    const request = buildDeliveryRequest(
      delivery,
      context({
        secret_ciphertext: box.seal('new-secret'),
        authorization_ciphertext: box.seal('Basic dXNlcjpwYXNz'),
      }),
      1,
      NOW,
      settings,
    );
    assert.equal(request.headers['X-Hub-Signature-256'], signBody('new-secret', request.body));
    assert.equal(request.headers['Authorization'], 'Basic dXNlcjpwYXNz');
    assert.equal(request.recordedHeaders['Authorization'], '***');
    assert.equal(request.recordedHeaders['X-Hub-Signature-256'], request.headers['X-Hub-Signature-256']);
  });

  it('signs with both secrets during a rotation, and with the new one after it', () => {
    const rotating = context({
      secret_ciphertext: box.seal('new'),
      previous_secret_ciphertext: box.seal('old'),
      previous_secret_until: NOW + 60_000,
    });
    const during = buildDeliveryRequest(delivery, rotating, 1, NOW, settings);
    assert.equal(
      during.headers['X-Hub-Signature-256'],
      `${signBody('new', during.body)},${signBody('old', during.body)}`,
    );
    assert.equal(during.headers[PREVIOUS_SIGNATURE_HEADER], signBody('old', during.body));
    const afterwards = buildDeliveryRequest(delivery, rotating, 1, NOW + 60_000, settings);
    assert.equal(afterwards.headers['X-Hub-Signature-256'], signBody('new', afterwards.body));
    assert.equal(afterwards.headers[PREVIOUS_SIGNATURE_HEADER], undefined);
  });

  it('writes the signature as the bare hex for a hex-format endpoint, also during a rotation', () => {
    const alarik = context({
      signature_header: 'X-Alarik-Signature-256',
      signature_format: 'hex',
      secret_ciphertext: box.seal('new'),
      previous_secret_ciphertext: box.seal('old'),
      previous_secret_until: NOW + 60_000,
    });
    const during = buildDeliveryRequest(delivery, alarik, 1, NOW, settings);
    assert.match(during.headers['X-Alarik-Signature-256'] ?? '', /^[0-9a-f]{64}$/);
    assert.equal(during.headers['X-Alarik-Signature-256'], signBody('new', during.body, 'hex'));
    assert.equal(during.headers[PREVIOUS_SIGNATURE_HEADER], signBody('old', during.body, 'hex'));
    assert.equal(during.headers['X-Hub-Signature-256'], undefined);
    const afterwards = buildDeliveryRequest(delivery, alarik, 1, NOW + 60_000, settings);
    assert.equal(afterwards.headers['X-Alarik-Signature-256'], signBody('new', afterwards.body, 'hex'));
    assert.equal(afterwards.headers[PREVIOUS_SIGNATURE_HEADER], undefined);
  });

  it('sends a test message verbatim', () => {
    const request = buildDeliveryRequest(
      { ...delivery, kind: 'test', event_id: null, test_body: '{"Event":"s3:TestEvent"}' },
      { endpoint, event: null },
      1,
      NOW,
      settings,
    );
    assert.equal(request.body, '{"Event":"s3:TestEvent"}');
    assert.equal(request.headers['X-Bucketbell-Event'], 's3:TestEvent');
  });

  it('fails with a RENDER_ERROR for an unknown format, bad or unreadable headers or an unreadable secret', () => {
    for (const overrides of [
      { format: 'cloudevents-v9' },
      { headers: '[1,2]' },
      { headers: 'not json' },
      { headers_ciphertext: box.seal('not json') },
      { headers_ciphertext: new SecretBox(randomBytes(32)).seal('{"X-Team":"other key"}') },
      { secret_ciphertext: new SecretBox(randomBytes(32)).seal('other key') },
    ]) {
      assert.throws(
        () => buildDeliveryRequest(delivery, context(overrides), 1, NOW, settings),
        (err: unknown) => err instanceof DeliveryRenderError && err.code === 'RENDER_ERROR',
        JSON.stringify(overrides),
      );
    }
  });
});

describe('maskHeaders', () => {
  it('masks credentials and keeps signatures and ordinary headers', () => {
    assert.deepEqual(
      maskHeaders({
        Authorization: 'Bearer x',
        'Proxy-Authorization': 'y',
        Cookie: 'c',
        'X-Api-Key': 'k',
        'X-Auth-Token': 't',
        'X-Client-Secret': 's',
        'X-Hub-Signature-256': 'sha256=ab',
        'X-Team': 'storage',
      }),
      {
        Authorization: '***',
        'Proxy-Authorization': '***',
        Cookie: '***',
        'X-Api-Key': '***',
        'X-Auth-Token': '***',
        'X-Client-Secret': '***',
        'X-Hub-Signature-256': 'sha256=ab',
        'X-Team': 'storage',
      },
    );
  });
});
