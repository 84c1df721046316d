// The wire format (rtnetlink-codec, link-requests) stays inside this folder.
export { NetlinkLinks, isNotFound, validateIfname } from './netlink-links';
