/** What a client stores with an object besides its bytes. */
export interface ObjectAttributes {
  readonly contentType: string;
  readonly contentEncoding: string | null;
  readonly contentDisposition: string | null;
  readonly contentLanguage: string | null;
  readonly cacheControl: string | null;
  readonly expires: string | null;
  /** x-amz-meta-* with lowercase names, without the prefix. */
  readonly userMetadata: Readonly<Record<string, string>>;
}

export interface StoredChecksum {
  readonly algorithm: string;
  readonly value: string;
  readonly type: 'FULL_OBJECT' | 'COMPOSITE';
}

export function attributeColumns(attributes: ObjectAttributes) {
  return {
    content_type: attributes.contentType,
    content_encoding: attributes.contentEncoding,
    content_disposition: attributes.contentDisposition,
    content_language: attributes.contentLanguage,
    cache_control: attributes.cacheControl,
    expires: attributes.expires,
    user_metadata: JSON.stringify(attributes.userMetadata),
  };
}
