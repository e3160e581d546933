/** How fleetview's clients reach Temporal, Kafka and MongoDB: TLS, credentials, and clear errors. */
export { ServiceConnectError, classifyConnectProblem, errorDetail, serviceConnectError, tidyTlsMessage, type ConnectProblem, type ServiceName } from './errors.js';
export { connectTemporalClient, connectTemporalWorker, temporalConnectionOptions, temporalUsesTls, type TemporalConnectionOptions } from './temporal.js';
export { isKafkaConnectError, kafkaSecurity, kafkaUsesTls, type KafkaSecurity } from './kafka.js';
export { displayMongoUri, mongoClientOptions, mongoStoreOptions } from './mongodb.js';
