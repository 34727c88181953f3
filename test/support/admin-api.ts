import assert from 'node:assert/strict';
import { AdminApiError, AdminClient } from '../../src/cli/admin-client.ts';
import { ROOT_PASSWORD, ROOT_USER, type TestServer } from './test-server.ts';

/** An admin API client for the root user (or the given keys). */
export function adminClient(
  server: TestServer,
  keys?: { accessKeyId: string; secretAccessKey: string },
): AdminClient {
  return new AdminClient({
    endpoint: server.adminUrl,
    accessKeyId: keys?.accessKeyId ?? ROOT_USER,
    secretKey: keys?.secretAccessKey ?? ROOT_PASSWORD,
  });
}

export interface CreatedUser {
  readonly name: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Creates a user through the admin API and returns its first key. */
export async function createUser(
  server: TestServer,
  name: string,
  role: 'user' | 'admin' = 'user',
): Promise<CreatedUser> {
  const result = await adminClient(server).request<{ accessKey: { accessKeyId: string; secretKey: string } }>(
    'POST',
    '/users',
    { name, role },
  );
  return { name, accessKeyId: result.accessKey.accessKeyId, secretAccessKey: result.accessKey.secretKey };
}

/** Asserts that an admin API call fails with this HTTP status and problem+json code. */
export async function expectProblem(
  promise: Promise<unknown>,
  status: number,
  code: string,
): Promise<AdminApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AdminApiError, String(err));
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${status} ${code}`);
}
