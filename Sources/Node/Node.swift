/// Node module. See README "Architecture".
public enum NodeModule {}
