/**
 * Checked by the type-check (`tsc`, part of `npm test`), not by jest: every object type the Kubernetes
 * renderer produces is assignable to the API type `kubernetes-models` generates from the Kubernetes
 * OpenAPI schemas, so a field of the wrong type or an enum value the API does not know fails to
 * compile. (The runtime validation of every rendered object is test/integration/synth/kubernetes-examples.)
 */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IService } from 'kubernetes-models/v1/Service';
import type {
  ConfigMap, Deployment, HorizontalPodAutoscaler, Namespace, NetworkPolicy, PersistentVolumeClaim, Service,
} from '../../lib/render/kubernetes-objects';

type Assignable<T extends U, U> = [T, U];

export type RenderedObjectsMatchTheApi = [
  Assignable<Namespace, INamespace>,
  Assignable<PersistentVolumeClaim, IPersistentVolumeClaim>,
  Assignable<ConfigMap, IConfigMap>,
  Assignable<Deployment, IDeployment>,
  Assignable<Service, IService>,
  Assignable<NetworkPolicy, INetworkPolicy>,
  Assignable<HorizontalPodAutoscaler, IHorizontalPodAutoscaler>,
];
