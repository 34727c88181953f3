import { createHmac, randomBytes } from 'node:crypto';

/**
 * VK Cloud's URL confirmation: the receiver proves it controls the URL by answering
 * hex(HMAC(HMAC(HMAC(Token, Timestamp), TopicArn), Url)).
 */
export function vkConfirmationSignature(
  token: string,
  timestamp: string,
  topicArn: string,
  url: string,
): string {
  const k1 = createHmac('sha256', token).update(timestamp).digest();
  const k2 = createHmac('sha256', k1).update(topicArn).digest();
  return createHmac('sha256', k2).update(url).digest('hex');
}

export interface VkConfirmationRequest {
  readonly body: string;
  readonly expectedSignature: string;
}

/** The SubscriptionConfirmation message VK sends for `<owner>|<bucket>|<event>`, and the answer it expects. */
export function buildVkConfirmation(url: string, topicArn: string, now: number): VkConfirmationRequest {
  const token = randomBytes(36).toString('base64url').slice(0, 48);
  const timestamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, '+00:00');
  const body = JSON.stringify({
    Timestamp: timestamp,
    Type: 'SubscriptionConfirmation',
    Message: `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription you need to response with calculated signature`,
    TopicArn: topicArn,
    SignatureVersion: 1,
    Token: token,
  });
  return { body, expectedSignature: vkConfirmationSignature(token, timestamp, topicArn, url) };
}

/** Whether a receiver's answer (`{"signature": "<hex>"}`) is the expected one. */
export function isValidVkAnswer(responseBody: string, expectedSignature: string): boolean {
  try {
    const parsed: unknown = JSON.parse(responseBody);
    if (typeof parsed !== 'object' || parsed === null) return false;
    const signature = (parsed as Record<string, unknown>)['signature'];
    return typeof signature === 'string' && signature.toLowerCase() === expectedSignature;
  } catch {
    return false;
  }
}
