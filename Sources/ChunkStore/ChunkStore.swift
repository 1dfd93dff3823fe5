/// ChunkStore module. See README "Architecture".
public enum ChunkStoreModule {}
