/// Wire module. See README "Architecture".
public enum WireModule {}
