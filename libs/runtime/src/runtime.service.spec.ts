import { NotSupportedError } from '@lodge/common';
import { assertKernelSupported } from './runtime.service';

describe('assertKernelSupported', () => {
  it.each(['5.12.0', '5.15.0-91-generic', '6.1.0-18-amd64', '6.18.44-fc-v669', '10.0.1'])('accepts %s', (r) => {
    expect(() => assertKernelSupported(r)).not.toThrow();
  });

  it.each(['5.11.22', '4.19.0-25-amd64', '3.10.0-1160.el7.x86_64', 'garbage'])('refuses %s with the reason', (r) => {
    expect(() => assertKernelSupported(r)).toThrow(NotSupportedError);
    expect(() => assertKernelSupported(r)).toThrow(/needs Linux 5\.12 or newer/);
  });
});
