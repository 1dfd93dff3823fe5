/// SyncEngine module. See README "Architecture".
public enum SyncEngineModule {}
