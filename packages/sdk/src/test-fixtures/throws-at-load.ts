// A bundle that fails as it loads: loadApplicationModules must say so.
throw new Error("database not configured");
