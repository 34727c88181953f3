import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** A client certificate accepted for an endpoint: the PEM chain to store, and the key to seal. */
export interface CheckedClientCertificate {
  /** The certificate, then any intermediates, as PEM blocks (text around them dropped). */
  readonly certificate: string;
  /** The private key as unencrypted PKCS#8 PEM. */
  readonly privateKey: string;
}

export type ClientCertificateCheck =
  | { readonly ok: true; readonly value: CheckedClientCertificate }
  | { readonly ok: false; readonly field: 'certificate' | 'privateKey'; readonly message: string };

/**
 * Checks a PEM certificate chain and private key for mTLS: every certificate block parses, the key
 * parses (unencrypted: there is no passphrase to give), and it is the private key of the first
 * certificate. Messages never quote the input.
 */
export function checkClientCertificate(
  certificatePem: string,
  privateKeyPem: string,
): ClientCertificateCheck {
  const blocks = certificatePem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    return {
      ok: false,
      field: 'certificate',
      message: 'is not a PEM certificate (-----BEGIN CERTIFICATE-----)',
    };
  }
  const chain: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      chain.push(new X509Certificate(block));
    } catch {
      return {
        ok: false,
        field: 'certificate',
        message:
          i === 0
            ? 'cannot be parsed as an X.509 certificate'
            : `certificate ${i + 1} of the chain cannot be parsed`,
      };
    }
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: privateKeyPem, format: 'pem' });
  } catch {
    return {
      ok: false,
      field: 'privateKey',
      message: 'is not a readable unencrypted PEM private key',
    };
  }
  const leaf = chain[0]!;
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(key);
  } catch {
    matches = false;
  }
  if (!matches) return { ok: false, field: 'privateKey', message: 'does not match the certificate' };
  return {
    ok: true,
    value: {
      certificate: `${blocks.join('\n')}\n`,
      privateKey: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    },
  };
}

/** What views show of a stored client certificate: who it names, who signed it, until when, which one. */
export interface ClientCertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly validTo: string;
  readonly fingerprint256: string;
}

/** Describes the first certificate of a stored chain; undefined if it cannot be read any more. */
export function summarizeCertificate(pem: string): ClientCertificateSummary | undefined {
  const first = pem.match(PEM_CERTIFICATE)?.[0];
  if (first === undefined) return undefined;
  try {
    const x509 = new X509Certificate(first);
    return {
      subject: x509.subject.replaceAll('\n', ', '),
      issuer: x509.issuer.replaceAll('\n', ', '),
      validTo: x509.validToDate.toISOString(),
      fingerprint256: x509.fingerprint256,
    };
  } catch {
    return undefined;
  }
}
