// fleetview's embedded MongoDB-wire store: mongo-java-server (de.bwaldvogel) on its H2 MVStore
// backend, in one file on disk. scripts/services.sh compiles this file against the jars Maven
// fetched and runs it; it is not part of the TypeScript build.
//
//   java -cp 'libs/*:classes' FleetviewStore <host> <port> <data file>
//
// What this launcher adds to the library:
// - Durability: every command that writes is committed to the data file before its answer
//   leaves (MVStore.commit(): one append of the changed pages). A SIGKILLed store restarts on
//   every write it acknowledged. The file is not fsynced per command (the OS page cache holds
//   it), so a power cut can lose the last writes; set FLEETVIEW_STORE_FSYNC=1 to sync as well.
//   Concurrent commits coalesce: a commit with nothing new to write returns at once.
// - _id lookups: the library uses an index only when the filter has exactly the index's
//   fields, so {_id: x, generation: {$lt: g}} (fleetview's guarded upsert) scanned the whole
//   collection. Here a filter with a plain _id value, {$eq} or {$in} on _id fetches those
//   documents by key and checks the rest of the filter on them only.
// - Space: freed chunks are reused at once (retention time 0). With a commit per write and the
//   default 45 s retention, 20,000 documents rewritten at ~4,000 docs/s grew the file to 505 MB
//   in 90 s; with 0 it stayed between 30 and 47 MB. Retention only guards against the OS not
//   having written newer chunks (power loss), so FLEETVIEW_STORE_FSYNC=1 keeps the default.
// - Worker threads: commands run on Netty's event-loop threads; FLEETVIEW_STORE_THREADS sets
//   how many (default 8), so one slow command does not queue every other connection behind it.
// - A clean shutdown on SIGTERM (the shutdown hook closes the MVStore: final commit).

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;

public final class FleetviewStore {

    // Commands after which the data file must hold the change before the client hears of it.
    private static final Set<String> WRITE_COMMANDS = Set.of(
        "insert", "update", "delete", "findandmodify", "create", "createindexes", "drop",
        "dropindexes", "dropdatabase", "renamecollection", "aggregate");

    // Map names of the H2 backend (H2Database's DATABASES_PREFIX / META_PREFIX, version 1.47.0).
    private static final String DATA_MAP_PREFIX = "databases.";
    private static final String META_MAP_PREFIX = "meta.";

    private static volatile MVStore store;
    private static boolean fsync;

    private FleetviewStore() {
    }

    /** H2Backend whose databases use IdLookupCollection, and which commits after every write. */
    static final class DurableBackend extends H2Backend {
        DurableBackend(MVStore mvStore) {
            super(mvStore);
        }

        @Override
        protected MongoDatabase openOrCreateDatabase(String databaseName) {
            return new Database(databaseName, getMvStore(), getCursorRegistry());
        }

        @Override
        public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
            try {
                return super.handleCommand(channel, databaseName, command, query);
            } finally {
                if (WRITE_COMMANDS.contains(command.toLowerCase())) {
                    commit();
                }
            }
        }

        @Override
        public void commit() {
            MVStore s = getMvStore();
            if (s.hasUnsavedChanges()) {
                s.commit();
            }
            if (fsync) {
                s.sync();
            }
        }
    }

    static final class Database extends H2Database {
        Database(String databaseName, MVStore mvStore, CursorRegistry cursorRegistry) {
            super(databaseName, mvStore, cursorRegistry);
        }

        // Called from H2Database's constructor too, so it must not rely on fields of this class.
        @Override
        protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
            String fullName = getDatabaseName() + "." + collectionName;
            MVMap<Object, Document> dataMap = store.openMap(DATA_MAP_PREFIX + fullName);
            MVMap<String, Object> metaMap = store.openMap(META_MAP_PREFIX + fullName);
            return new IdLookupCollection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
        }
    }

    static final class IdLookupCollection extends H2Collection {
        IdLookupCollection(MongoDatabase database, String collectionName, CollectionOptions options,
                           MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap, CursorRegistry cursorRegistry) {
            super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                             int batchSize, Document fieldSelector) {
            String idField = getIdField();
            if (idField != null && query.size() > 1 && query.containsKey(idField) && isKeyLookup(query.get(idField))) {
                Document idQuery = new Document(idField, query.get(idField));
                for (Index<Object> index : getIndexes()) {
                    if (index.getKeys().size() == 1 && idField.equals(index.getKeys().get(0).getKey())
                        && index.canHandle(idQuery)) {
                        List<Object> positions = new ArrayList<>();
                        for (Object position : index.getPositions(idQuery)) {
                            positions.add(position);
                        }
                        // matchDocuments checks the whole filter on each candidate.
                        return matchDocuments(query, positions, orderBy, numberToSkip, limit, batchSize, fieldSelector);
                    }
                }
            }
            return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }

        private static boolean isKeyLookup(Object value) {
            if (!(value instanceof Document)) {
                return value != null;
            }
            Set<String> keys = ((Document) value).keySet();
            return keys.size() == 1 && (keys.contains("$eq") || keys.contains("$in"));
        }
    }

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: FleetviewStore <host> <port> <data file>");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        File file = new File(args[2]).getAbsoluteFile();
        int threads = Integer.parseInt(System.getenv().getOrDefault("FLEETVIEW_STORE_THREADS", "8"));
        fsync = "1".equals(System.getenv("FLEETVIEW_STORE_FSYNC"));

        file.getParentFile().mkdirs();
        long started = System.nanoTime();
        store = new MVStore.Builder().fileName(file.getPath()).open();
        // Retention keeps freed chunks untouched for 45 s in case the OS has not yet written the
        // newer ones (power loss). A killed process loses nothing the OS holds, and with a commit
        // per write the file grew ~25x over its live data within a minute of churn; with 0 the
        // space of dead chunks is reused at once. With FLEETVIEW_STORE_FSYNC=1 the default stays.
        if (!fsync) {
            store.setRetentionTime(0);
        }
        DurableBackend backend = new DurableBackend(store);
        MongoServer server = new MongoServer(backend);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("fleetview-store: shutting down");
            server.shutdownNow();
        }, "fleetview-store-shutdown"));
        server.bind(new java.net.InetSocketAddress(host, port), 1, threads);
        System.err.printf("fleetview-store: listening on %s:%d, data %s, %d worker threads, opened in %d ms%n",
            host, port, file, threads, (System.nanoTime() - started) / 1_000_000);
    }
}
