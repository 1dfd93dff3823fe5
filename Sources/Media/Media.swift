/// Media module. See README "Architecture".
public enum MediaModule {}
