import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import {
  ADDRESS_CLASSES,
  addressClassLabel,
  cidrContains,
  classifyAddress,
  embeddedIpv4,
  formatCidr,
  isBlockedFor,
  parseAddress,
  parseCidr,
  refusalOf,
  webhookHost,
  type AddressClass,
  type Cidr,
} from './address-policy.ts';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  assert.ok(parsed, `${text} parses`);
  return parsed;
}

const CASES: readonly (readonly [string, AddressClass])[] = [
  // IPv4
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['11.0.0.1', 'public'],
  ['100.63.255.255', 'public'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['100.128.0.0', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['169.254.169.254', 'link-local'],
  ['169.254.0.1', 'link-local'],
  ['169.255.0.1', 'public'],
  ['172.15.255.255', 'public'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.0', 'public'],
  ['192.0.0.8', 'reserved'],
  ['192.0.2.10', 'documentation'],
  ['192.88.99.1', 'reserved'],
  ['192.167.255.255', 'public'],
  ['192.168.1.1', 'private'],
  ['192.169.0.0', 'public'],
  ['198.17.255.255', 'public'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['198.20.0.0', 'public'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.254', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  ['1.1.1.1', 'public'],
  ['8.8.8.8', 'public'],
  ['93.184.216.34', 'public'],
  // IPv6
  ['::', 'unspecified'],
  ['0:0:0:0:0:0:0:0', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fec0::1', 'private'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456:789a::1', 'unique-local'],
  ['ff02::1', 'multicast'],
  ['ff05::1:3', 'multicast'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['2001:2::1', 'benchmarking'],
  ['2001::1', 'reserved'],
  ['2001:10::1', 'reserved'],
  ['2001:20::1', 'reserved'],
  ['100::1', 'reserved'],
  ['64:ff9b:1::a00:1', 'private'],
  ['4000::1', 'reserved'],
  ['::2', 'unspecified'], // IPv4-compatible 0.0.0.2
  ['::1:0:0:1', 'reserved'],
  ['1::', 'reserved'],
  ['2606:4700:4700::1111', 'public'],
  ['2a00:1450:4001:82a::200e', 'public'],
  ['2001:4860:4860::8888', 'public'],
  // IPv4 embedded in IPv6
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
  ['::FFFF:7F00:0001', 'loopback'],
  ['::ffff:10.1.2.3', 'private'],
  ['::ffff:a9fe:a9fe', 'link-local'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:100.64.0.1', 'cgnat'],
  ['::ffff:0.0.0.0', 'unspecified'],
  ['::ffff:8.8.8.8', 'public'],
  ['::127.0.0.1', 'loopback'],
  ['::7f00:1', 'loopback'],
  ['::10.0.0.1', 'private'],
  ['::8.8.8.8', 'reserved'],
  ['::ffff:0:127.0.0.1', 'loopback'],
  ['::ffff:0:8.8.8.8', 'reserved'],
  ['64:ff9b::127.0.0.1', 'loopback'],
  ['64:ff9b::a00:1', 'private'],
  ['64:ff9b::169.254.169.254', 'link-local'],
  ['64:ff9b::8.8.8.8', 'public'],
  ['2002:7f00:1::', 'loopback'],
  ['2002:7f00:0001:0:0:0:0:1', 'loopback'],
  ['2002:a00:1::1', 'private'],
  ['2002:c0a8:101::', 'private'],
  ['2002:a9fe:a9fe::', 'link-local'],
  ['2002:808:808::1', 'public'],
];

describe('classifyAddress', () => {
  for (const [ip, expected] of CASES) {
    it(`${ip} is ${expected}`, () => {
      assert.equal(classifyAddress(ip), expected);
    });
  }

  it('covers every class with at least one case', () => {
    const seen = new Set(CASES.map(([, c]) => c));
    for (const c of ADDRESS_CLASSES) assert.ok(seen.has(c), c);
  });

  it('throws on text that is not an address', () => {
    for (const bad of [
      '',
      'localhost',
      '127.1',
      '0177.0.0.1',
      '2130706433',
      '1.2.3.4.5',
      '256.0.0.1',
      ':::',
    ]) {
      assert.throws(() => classifyAddress(bad), TypeError, bad);
    }
  });
});

describe('parseAddress', () => {
  it('reads what net.isIP reads, and nothing it refuses', () => {
    const texts = [
      '1.2.3.4',
      '01.2.3.4',
      '1.2.3',
      '1.2.3.04',
      '255.255.255.255',
      '::',
      '::1',
      '1::',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7::',
      '::2:3:4:5:6:7:8',
      '1::2:3:4:5:6:7',
      '1:2:3:4:5:6:1.2.3.4',
      '::ffff:1.2.3.4',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '1::2::3',
      ':1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:',
      '12345::',
      'g::',
      '::1.2.3',
      '1.2.3.4::',
      'fe80::1%eth0',
      'FE80::ABCD',
    ];
    for (const text of texts) {
      assert.equal(parseAddress(text) !== undefined, isIP(text) !== 0, text);
    }
  });

  it('takes brackets off', () => {
    assert.deepEqual(parseAddress('[::1]')?.family, 6);
  });

  it('gives the bytes', () => {
    assert.deepEqual([...(parseAddress('10.1.2.3')?.bytes ?? [])], [10, 1, 2, 3]);
    assert.deepEqual(
      [...(parseAddress('2001:db8::ff00:42:8329')?.bytes ?? [])],
      [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0x42, 0x83, 0x29],
    );
  });
});

describe('embeddedIpv4', () => {
  it('names the IPv4 address inside', () => {
    assert.equal(embeddedIpv4('::ffff:7f00:1'), '127.0.0.1');
    assert.equal(embeddedIpv4('64:ff9b::a00:1'), '10.0.0.1');
    assert.equal(embeddedIpv4('2002:c0a8:101::'), '192.168.1.1');
    assert.equal(embeddedIpv4('::1'), undefined);
    assert.equal(embeddedIpv4('2001:db8::1'), undefined);
    assert.equal(embeddedIpv4('127.0.0.1'), undefined);
  });
});

describe('isBlockedFor', () => {
  it('blocks every class but public for non-admins, and nothing for admins', () => {
    for (const c of ADDRESS_CLASSES) {
      assert.equal(isBlockedFor(c, { allowPrivate: false }), c !== 'public', c);
      assert.equal(isBlockedFor(c, { allowPrivate: true }), false, c);
    }
  });

  it('labels every class', () => {
    for (const c of ADDRESS_CLASSES) assert.match(addressClassLabel(c), /^(a|an|the) .+address$/);
  });
});

describe('CIDRs', () => {
  it('parses IPv4 and IPv6 networks, and bare addresses', () => {
    assert.equal(formatCidr(cidr('10.0.0.0/8')), '10.0.0.0/8');
    assert.equal(formatCidr(cidr('10.1.2.3/8')), '10.0.0.0/8');
    assert.equal(formatCidr(cidr('192.168.1.77')), '192.168.1.77/32');
    assert.equal(formatCidr(cidr('0.0.0.0/0')), '0.0.0.0/0');
    assert.equal(formatCidr(cidr('fd00::/8')), 'fd00:0:0:0:0:0:0:0/8');
    assert.equal(formatCidr(cidr('::1')), '0:0:0:0:0:0:0:1/128');
    assert.equal(formatCidr(cidr(' 172.16.0.0/12 ')), '172.16.0.0/12');
    assert.equal(formatCidr(cidr('172.20.1.1/13')), '172.16.0.0/13');
  });

  it('reads an IPv4-mapped network as IPv4', () => {
    const mapped = cidr('::ffff:10.0.0.0/104');
    assert.equal(mapped.family, 4);
    assert.equal(formatCidr(mapped), '10.0.0.0/8');
  });

  it('refuses what is not a network', () => {
    for (const bad of [
      '',
      '10.0.0.0/33',
      '10.0.0.0/-1',
      '10.0.0.0/',
      '10.0.0.0/8/8',
      '10.0.0/8',
      'fd00::/129',
      'fe80::1%eth0/64',
      '[::1]/128',
      'example.com/24',
      '10.0.0.0/08a',
    ]) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
  });

  it('tells whether an address lies inside', () => {
    const ten = cidr('10.0.0.0/8');
    assert.ok(cidrContains(ten, '10.20.30.40'));
    assert.ok(!cidrContains(ten, '11.0.0.0'));
    assert.ok(cidrContains(ten, '::ffff:10.0.0.5'), 'IPv4-mapped counts as IPv4');
    assert.ok(!cidrContains(ten, 'fd00::1'));
    assert.ok(!cidrContains(ten, 'not an address'));
    const odd = cidr('172.16.0.0/12');
    assert.ok(cidrContains(odd, '172.31.255.255'));
    assert.ok(!cidrContains(odd, '172.32.0.0'));
    const v6 = cidr('fd00:1234::/32');
    assert.ok(cidrContains(v6, 'fd00:1234:5678::1'));
    assert.ok(!cidrContains(v6, 'fd00:1235::1'));
    assert.ok(!cidrContains(v6, '10.0.0.1'));
    const host = cidr('127.0.0.1');
    assert.ok(cidrContains(host, '127.0.0.1'));
    assert.ok(!cidrContains(host, '127.0.0.2'));
    assert.ok(cidrContains(cidr('0.0.0.0/0'), '8.8.8.8'));
    assert.ok(cidrContains(cidr('::/0'), '2001:db8::1'));
    assert.ok(cidrContains(cidr('::ffff:127.0.0.1'), '127.0.0.1'));
  });
});

describe('refusalOf', () => {
  const users = { allowPrivate: false, allowedCidrs: [] };

  it('describes the class, and the IPv4 address an IPv6 one embeds', () => {
    assert.deepEqual(refusalOf('127.0.0.1', users), {
      addressClass: 'loopback',
      description: 'a loopback address',
    });
    assert.deepEqual(refusalOf('::ffff:a9fe:a9fe', users), {
      addressClass: 'link-local',
      description: 'a link-local address (it embeds IPv4 169.254.169.254)',
    });
    assert.equal(refusalOf('8.8.8.8', users), undefined);
  });

  it('lets allow-listed networks and admins through', () => {
    const allowList = { allowPrivate: false, allowedCidrs: [cidr('10.1.0.0/16')] };
    assert.equal(refusalOf('10.1.2.3', allowList), undefined);
    assert.equal(refusalOf('::ffff:10.1.2.3', allowList), undefined);
    assert.equal(refusalOf('10.2.0.1', allowList)?.addressClass, 'private');
    assert.equal(refusalOf('169.254.169.254', { allowPrivate: true, allowedCidrs: [] }), undefined);
  });

  it('refuses what is not an address', () => {
    assert.deepEqual(refusalOf('localhost', users), {
      addressClass: undefined,
      description: 'not an IP address',
    });
  });
});

describe('webhookHost', () => {
  const loopbackSpellings = [
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0177.0.0.1/',
    'http://0x7f.1/',
    'http://0x7f000001/',
    'http://017700000001/',
    'http://127.1/',
    'http://127.0.1/',
    'http://127.0.0.1./',
    'http://%31%32%37.0.0.1/',
    'http://１２７.０.０.１/',
    'https://127.0.0.1:8443/path?q=1',
  ];
  for (const url of loopbackSpellings) {
    it(`${url} is the IPv4 loopback address`, () => {
      const host = webhookHost(url);
      assert.deepEqual(host, { kind: 'ip', address: '127.0.0.1', family: 4 });
      assert.equal(classifyAddress(host.address), 'loopback');
    });
  }

  const ipv6Spellings: readonly (readonly [string, string, AddressClass])[] = [
    ['http://[::1]/', '::1', 'loopback'],
    ['http://[0:0:0:0:0:0:0:1]/', '::1', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1', 'loopback'],
    ['http://[::ffff:7f00:1]/', '::ffff:7f00:1', 'loopback'],
    ['http://[0:0:0:0:0:ffff:7f00:1]/', '::ffff:7f00:1', 'loopback'],
    ['http://[::ffff:169.254.169.254]/', '::ffff:a9fe:a9fe', 'link-local'],
    ['http://[::127.0.0.1]/', '::7f00:1', 'loopback'],
    ['http://[64:ff9b::10.0.0.1]/', '64:ff9b::a00:1', 'private'],
    ['http://[2002:7f00:1::]/', '2002:7f00:1::', 'loopback'],
    ['http://[::]/', '::', 'unspecified'],
    ['http://[FE80::1]/', 'fe80::1', 'link-local'],
    ['http://[fd00::1]:8080/', 'fd00::1', 'unique-local'],
  ];
  for (const [url, address, expected] of ipv6Spellings) {
    it(`${url} is ${address}, ${expected}`, () => {
      const host = webhookHost(url);
      assert.deepEqual(host, { kind: 'ip', address, family: 6 });
      assert.equal(classifyAddress(host.address), expected);
    });
  }

  it('reads other IPv4 spellings to the address they mean', () => {
    assert.deepEqual(webhookHost('http://0/'), { kind: 'ip', address: '0.0.0.0', family: 4 });
    assert.deepEqual(webhookHost('http://0x0a.0.0.1/'), { kind: 'ip', address: '10.0.0.1', family: 4 });
    assert.deepEqual(webhookHost('http://2852039166/'), {
      kind: 'ip',
      address: '169.254.169.254',
      family: 4,
    });
    assert.deepEqual(webhookHost('http://0251.0376.0251.0376/'), {
      kind: 'ip',
      address: '169.254.169.254',
      family: 4,
    });
    assert.deepEqual(webhookHost('http://100.64.1/'), { kind: 'ip', address: '100.64.0.1', family: 4 });
  });

  it('recognises localhost names, with or without trailing dots, in any case', () => {
    for (const url of [
      'http://localhost/',
      'http://localhost./',
      'http://LOCALHOST../',
      'http://api.localhost/',
      'http://a.b.LocalHost./',
    ]) {
      assert.equal(webhookHost(url)?.kind, 'localhost', url);
    }
    assert.deepEqual(webhookHost('http://localhost./'), { kind: 'localhost', name: 'localhost' });
  });

  it('leaves other names to DNS, trailing dots removed', () => {
    assert.deepEqual(webhookHost('https://Hooks.Example.com./x'), {
      kind: 'name',
      name: 'hooks.example.com',
    });
    assert.deepEqual(webhookHost('http://notlocalhost/'), { kind: 'name', name: 'notlocalhost' });
    assert.deepEqual(webhookHost('http://localhost.example.com/'), {
      kind: 'name',
      name: 'localhost.example.com',
    });
    assert.deepEqual(webhookHost('http://127.0.0.1.nip.io/'), { kind: 'name', name: '127.0.0.1.nip.io' });
  });

  it('accepts a URL object, and gives undefined for what is not a URL', () => {
    assert.deepEqual(webhookHost(new URL('http://10.0.0.1/')), {
      kind: 'ip',
      address: '10.0.0.1',
      family: 4,
    });
    assert.equal(webhookHost('not a url'), undefined);
    assert.equal(webhookHost('http://256.0.0.1/'), undefined);
    assert.equal(webhookHost('file:///etc/passwd'), undefined);
  });
});
