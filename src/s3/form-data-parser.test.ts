import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { formDataBoundary, parseFormData, parseHeaderValue } from './form-data-parser.ts';
import { S3Error } from './s3-error.ts';

interface ParsedPart {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
  body: Buffer;
}

async function* chunked(data: Buffer, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    await new Promise(setImmediate); // as chunks arrive from a socket
    yield new Uint8Array(data.subarray(offset, offset + size));
    offset += size;
  }
}

async function parseAll(
  data: Buffer,
  boundary: string,
  sizes: readonly number[] = [data.length],
): Promise<ParsedPart[]> {
  const parts: ParsedPart[] = [];
  for await (const part of parseFormData(chunked(data, sizes), boundary)) {
    const chunks: Buffer[] = [];
    for await (const chunk of part.body) chunks.push(chunk);
    parts.push({
      name: part.name,
      filename: part.filename,
      contentType: part.contentType,
      body: Buffer.concat(chunks),
    });
  }
  return parts;
}

async function expectMalformed(data: Buffer, boundary: string, pattern: RegExp): Promise<void> {
  await assert.rejects(parseAll(data, boundary), (err: unknown) => {
    assert.ok(err instanceof S3Error);
    assert.equal(err.code, 'MalformedPOSTRequest');
    assert.match(err.message, pattern);
    return true;
  });
}

const B = 'XyZ-boundary';

function form(...pieces: (string | Buffer)[]): Buffer {
  return Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

/** A body with two fields, a file whose bytes look like delimiters, and a field after it. */
function sampleForm(file: Buffer): Buffer {
  return form(
    `--${B}\r\nContent-Disposition: form-data; name="key"\r\n\r\nuploads/\${filename}\r\n`,
    `--${B}\r\ncontent-disposition: form-data; name="X-Amz-Meta-Colour"\r\n\r\nbl\u00fce\r\n`,
    `--${B}\r\nContent-Disposition: form-data; name="file"; filename="cat.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    file,
    `\r\n--${B}\r\nContent-Disposition: form-data; name="after"\r\n\r\nignored\r\n--${B}--\r\n`,
  );
}

describe('parseFormData', () => {
  it('reads fields and a file whose bytes hold near-delimiters, whatever the chunking', async () => {
    const file = form(`\r\n--${B.slice(0, -1)}\r\n--\r\n-${B}`, randomBytes(300), `\r\n--${B}`.slice(0, -1));
    const data = sampleForm(file);
    const expected: ParsedPart[] = [
      { name: 'key', filename: undefined, contentType: undefined, body: Buffer.from('uploads/${filename}') },
      {
        name: 'X-Amz-Meta-Colour',
        filename: undefined,
        contentType: undefined,
        body: Buffer.from('bl\u00fce'),
      },
      { name: 'file', filename: 'cat.jpg', contentType: 'image/jpeg', body: file },
      { name: 'after', filename: undefined, contentType: undefined, body: Buffer.from('ignored') },
    ];
    for (const sizes of [[data.length], [1], [2], [3], [7], [16], [1, 50, 2]]) {
      assert.deepEqual(await parseAll(data, B, sizes), expected, `chunk sizes ${sizes.join(',')}`);
    }
    for (let split = 1; split < data.length; split++) {
      assert.deepEqual(await parseAll(data, B, [split, data.length]), expected, `split at ${split}`);
    }
  });

  it('streams a large part in slices of the chunks read, never the whole part', async () => {
    const file = randomBytes(3 * 1024 * 1024 + 17);
    const data = sampleForm(file);
    let largest = 0;
    const chunks: Buffer[] = [];
    for await (const part of parseFormData(chunked(data, [64 * 1024]), B)) {
      for await (const chunk of part.body) {
        if (part.name !== 'file') continue;
        largest = Math.max(largest, chunk.length);
        chunks.push(chunk);
      }
    }
    assert.ok(Buffer.concat(chunks).equals(file));
    assert.ok(chunks.length > 40, `${chunks.length} chunks`);
    assert.ok(largest <= 64 * 1024 + B.length + 4, `largest slice ${largest}`);
  });

  it('skips what the consumer leaves unread of a part', async () => {
    const data = sampleForm(randomBytes(100_000));
    const names: string[] = [];
    for await (const part of parseFormData(chunked(data, [1000]), B)) {
      names.push(part.name);
      if (part.name === 'file') {
        // Read one slice, then abandon the body the way a `break` out of for-await does.
        for await (const _chunk of part.body) break;
      }
    }
    assert.deepEqual(names, ['key', 'X-Amz-Meta-Colour', 'file', 'after']);
  });

  it('ignores the preamble, the epilogue, transport padding and a missing final CRLF', async () => {
    const data = form(
      `This is the preamble.\r\n--${B}  \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n`,
      `--${B}\r\nContent-Disposition: form-data; name="b"\r\n\r\n\r\n--${B}--`,
    );
    const parts = await parseAll(Buffer.concat([data, Buffer.from('\r\nepilogue')]), B);
    assert.deepEqual(
      parts.map((p) => [p.name, p.body.toString()]),
      [
        ['a', '1'],
        ['b', ''],
      ],
    );
    assert.deepEqual(await parseAll(data, B, [5]), parts);
  });

  it('reads folded headers and a part with no headers but a disposition', async () => {
    const data = form(`--${B}\r\nContent-Disposition: form-data;\r\n name="folded"\r\n\r\nv\r\n--${B}--\r\n`);
    assert.equal((await parseAll(data, B))[0]?.name, 'folded');
  });

  it('refuses bodies that break the format', async () => {
    await expectMalformed(
      Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\nxx`),
      B,
      /ended/,
    );
    await expectMalformed(Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n`), B, /ended/);
    await expectMalformed(Buffer.from('no boundary at all'), B, /ended/);
    await expectMalformed(Buffer.from(`--${B}`), B, /ended/);
    await expectMalformed(
      Buffer.from(`--${B}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${B}--`),
      B,
      /Disposition/,
    );
    await expectMalformed(
      Buffer.from(`--${B}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${B}--`),
      B,
      /name/,
    );
    await expectMalformed(
      Buffer.from(`--${B}\r\nContent-Disposition: attachment; name="a"\r\n\r\n\r\n--${B}--`),
      B,
      /name/,
    );
    await expectMalformed(Buffer.from(`--${B}x\r\n\r\n`), B, /followed by/);
    await expectMalformed(Buffer.from(`--${B}\r\nno colon here\r\n\r\n\r\n--${B}--`), B, /header/);
    await expectMalformed(
      Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"\r\nX: ${'y'.repeat(20_000)}\r\n\r\n`),
      B,
      /too large/,
    );
    await expectMalformed(Buffer.from(`--${B}${' '.repeat(2000)}\r\n`), B, /too long/);
  });
});

describe('formDataBoundary', () => {
  it('reads the boundary of multipart/form-data only', () => {
    assert.equal(formDataBoundary('multipart/form-data; boundary=abc'), 'abc');
    assert.equal(formDataBoundary('Multipart/Form-Data;charset=utf-8; Boundary="a b:c"'), 'a b:c');
    assert.equal(formDataBoundary('multipart/form-data'), undefined);
    assert.equal(formDataBoundary('multipart/mixed; boundary=abc'), undefined);
    assert.equal(formDataBoundary(`multipart/form-data; boundary=${'a'.repeat(71)}`), undefined);
    assert.equal(formDataBoundary('multipart/form-data; boundary="ends in space "'), undefined);
    assert.equal(formDataBoundary(undefined), undefined);
  });
});

describe('parseHeaderValue', () => {
  it('reads tokens, quoted strings with escapes, Windows paths and RFC 5987 values', () => {
    const { value, params } = parseHeaderValue(
      String.raw`form-data; NAME="file"; filename="C:\dir\say \"hi\".txt"; junk; filename*=UTF-8''%E2%82%AC%20rates.txt`,
    );
    assert.equal(value, 'form-data');
    assert.equal(params.get('name'), 'file');
    assert.equal(params.get('filename'), String.raw`C:\dir\say "hi".txt`);
    assert.equal(params.get('filename*'), '\u20ac rates.txt');
    assert.equal(parseHeaderValue("a; filename*=koi8-r''%C1").params.get('filename*'), undefined);
    assert.equal(parseHeaderValue('a; x="unterminated').params.get('x'), 'unterminated');
  });
});

describe('interoperability', () => {
  it("reads what undici's FormData serializer (as in browsers) writes", async () => {
    const data = new FormData();
    data.set('key', 'k\u00e9y "quoted"\r\nnext');
    const file = randomBytes(70_000);
    data.set('file', new Blob([file], { type: 'application/x-test' }), 'na"me\u00e9.bin');
    const request = new Request('http://localhost/', { method: 'POST', body: data });
    const boundary = formDataBoundary(request.headers.get('content-type') ?? undefined);
    assert.ok(boundary !== undefined);
    const parts = await parseAll(Buffer.from(await request.arrayBuffer()), boundary, [4096]);
    assert.equal(parts.length, 2);
    // Browsers escape `"`, CR and LF in names and filenames as %22, %0D and %0A and normalise field newlines to CRLF.
    assert.equal(parts[0]?.body.toString(), 'k\u00e9y "quoted"\r\nnext');
    assert.equal(parts[1]?.filename, 'na%22me\u00e9.bin');
    assert.equal(parts[1]?.contentType, 'application/x-test');
    assert.ok(parts[1]?.body.equals(file));
  });
});
