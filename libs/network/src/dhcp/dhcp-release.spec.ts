import { dhcpReleasePacket } from './dhcp-release';

describe('DHCPRELEASE packet', () => {
  it('is a BOOTREQUEST from the client address and MAC with message type 7 and the server id', () => {
    const p = dhcpReleasePacket({ clientAddress: '10.1.2.3', hwaddr: '00:16:3E:AA:BB:CC', serverAddress: '10.1.2.1', xid: 0x01020304 });
    expect([...p.subarray(0, 8)]).toEqual([1, 1, 6, 0, 1, 2, 3, 4]); // op, htype, hlen, hops, xid
    expect([...p.subarray(12, 16)]).toEqual([10, 1, 2, 3]); // ciaddr
    expect([...p.subarray(16, 28)]).toEqual(new Array(12).fill(0)); // yiaddr, siaddr, giaddr
    expect([...p.subarray(28, 44)]).toEqual([0x00, 0x16, 0x3e, 0xaa, 0xbb, 0xcc, ...new Array(10).fill(0)]); // chaddr
    expect([...p.subarray(236, 240)]).toEqual([99, 130, 83, 99]); // magic cookie
    expect([...p.subarray(240)]).toEqual([53, 1, 7, 54, 4, 10, 1, 2, 1, 255]);
  });

  it('refuses what is not an address or a MAC', () => {
    expect(() => dhcpReleasePacket({ clientAddress: '10.1.2', hwaddr: '00:16:3e:aa:bb:cc', serverAddress: '10.1.2.1' })).toThrow();
    expect(() => dhcpReleasePacket({ clientAddress: '10.1.2.3', hwaddr: 'nope', serverAddress: '10.1.2.1' })).toThrow('Invalid MAC address');
  });
});
