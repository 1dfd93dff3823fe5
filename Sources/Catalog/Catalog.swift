/// Catalog module. See README "Architecture".
public enum CatalogModule {}
