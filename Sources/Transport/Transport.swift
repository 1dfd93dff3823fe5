/// Transport module. See README "Architecture".
public enum TransportModule {}
