/** An interface's counters as LXD's API reports them (api.NetworkStateCounters), for host and instance interfaces alike. */
export interface InterfaceCounters {
  bytes_received: number;
  bytes_sent: number;
  packets_received: number;
  packets_sent: number;
  errors_received: number;
  errors_sent: number;
  packets_dropped_outbound: number;
  packets_dropped_inbound: number;
}
